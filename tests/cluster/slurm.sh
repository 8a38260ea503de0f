#!/usr/bin/env bash
# A throw-away one-node Slurm on this machine for `make test-cluster`:
#   tests/cluster/slurm.sh COMMAND...
# installs Debian's slurm-wlm and munge when missing, starts munged, slurmctld and slurmd with
# a config generated into a temporary folder (node = `hostname -s`, CPUs and memory read from
# the machine), runs COMMAND with SLURM_CONF and GEP_SLURM_TEST=1 exported, and stops every
# daemon it started (by PID) when COMMAND ends, also on failure or Ctrl-C. Needs root.
set -euo pipefail

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends slurm-wlm munge
fi

WORK=$(mktemp -d /tmp/gep-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local rc=$?
    set +e   # every step of the clean-up runs, whatever the ones before it returned
    [ -n "${CMD_PID:-}" ] && kill "$CMD_PID" 2>/dev/null
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "$rc" != 0 ]; then
        echo "--- slurmctld.log (tail)"; tail -n 30 "$WORK/slurmctld.log" 2>/dev/null || true
        echo "--- slurmd.log (tail)"; tail -n 30 "$WORK/slurmd.log" 2>/dev/null || true
    fi
    if [ "${LINKED:-0}" = 1 ] && [ "$(readlink "$ETC_CONF")" = "$WORK/slurm.conf" ]; then
        rm -f "$ETC_CONF"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
CMD_PID=
trap '[ -n "$CMD_PID" ] && kill "$CMD_PID" 2>/dev/null || true; exit 130' INT TERM

# munge: own key, socket and files, so a munged already running elsewhere is left alone
mkdir -p "$WORK/munge" "$WORK/state" "$WORK/spool"
chmod 711 "$WORK/munge"
dd if=/dev/urandom bs=1 count=1024 of="$WORK/munge/munge.key" status=none
chmod 400 "$WORK/munge/munge.key"
SOCKET="$WORK/munge/munge.socket"
munged --foreground --force --socket="$SOCKET" --key-file="$WORK/munge/munge.key" \
    --log-file="$WORK/munge/munged.log" --pid-file="$WORK/munge/munged.pid" \
    --seed-file="$WORK/munge/munged.seed" >"$WORK/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCKET" ] && break; sleep 0.1; done
[ -S "$SOCKET" ] || { echo "munged did not start"; cat "$WORK/munge/munged.log"; exit 1; }

HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))
PORT_BASE=$(( 16817 + RANDOM % 2000 ))
cat > "$WORK/slurm.conf" <<CONF
ClusterName=gep-test
SlurmctldHost=$HOST
SlurmctldPort=$PORT_BASE
SlurmdPort=$(( PORT_BASE + 1 ))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$WORK/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ReturnToService=2
MinJobAge=3600
MaxJobCount=100000
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"
# Snakemake's SLURM executor drops every SLURM_* variable (SLURM_CONF too) before it submits,
# so the job steps' srun reads the default /etc/slurm/slurm.conf: link it to the temporary
# config for the test's duration (never over a Slurm already configured on the machine).
ETC_CONF=/etc/slurm/slurm.conf
if [ -e "$ETC_CONF" ] || [ -L "$ETC_CONF" ]; then
    echo "$ETC_CONF exists: this machine has a Slurm of its own; run make test-cluster on a" \
         "machine without one"
    exit 1
fi
mkdir -p /etc/slurm
ln -s "$SLURM_CONF" "$ETC_CONF"
LINKED=1

slurmctld -D -i -f "$SLURM_CONF" >/dev/null 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && break
    sleep 0.3
done
sinfo -h -o %T | grep -qx idle || { echo "the Slurm node did not become idle"; sinfo; exit 1; }
echo "one-node Slurm up: $HOST, $CPUS CPUs, $MEM MB (config $SLURM_CONF)"

export GEP_SLURM_TEST=1
# in the background and waited for, so a TERM to this script stops it at once (bash runs
# traps only between commands)
"$@" &
CMD_PID=$!
wait "$CMD_PID"
