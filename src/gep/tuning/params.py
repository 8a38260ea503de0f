"""Tunable parameters: their names, the sweep grammar, and validation before any work starts.

A parameter is named by where it lives:

- ``models.<model>.<field>``: a numeric field of an enabled model in the basin config, e.g.
  ``models.annual_water_yield.seasonality_constant`` (alias ``seasonality_constant`` or ``Z``),
  ``models.habitat_quality.half_saturation_constant`` (alias ``half_saturation_constant``);
- tuning-only model parameters that rewrite a model's table for InVEST:
  ``models.annual_water_yield.kc_scale`` and ``.root_depth_scale`` (multiply the ``kc`` and
  ``root_depth`` columns of the biophysical table; aliases ``kc_scale``, ``root_depth_scale``),
  ``models.habitat_quality.threats.<threat>.weight`` and ``.max_dist`` (a row of the threats
  table; alias ``threats.<threat>.weight``);
- ``prices.<service>.<key>`` for a number in the price file under ``services`` (e.g.
  ``prices.water_conservation.unit_price``, ``prices.biodiversity.equivalent_factors.10``) and
  ``prices.cpi.<year>``;
- a number in the compensation agreement by its path, e.g. ``reward.rate``, ``tiers.basic``,
  ``base_payment``, ``water_quality_bet.k0``, ``accounts.<id>.base_weight`` (prefix
  ``agreement.`` optional).

Sweep values (``name=SPEC``): ``v`` one value, ``a,b,c`` a list, ``min:max:n`` n evenly spaced
values from min to max inclusive, ``min:max:n:log`` n geometrically spaced values.

Every value is checked against the gep config's range (``gep.config``), InVEST's own valid range
(the model's ``MODEL_SPEC``) and the agreement's rules (``gep.compensation``) before any model
runs, so a typo or an impossible value stops with one message naming the parameter and the fix.

Shares that must sum to 1 (``tiers.*``, ``funding.*``, the bet's indicator weights): sweeping
some of them rescales the others of the group proportionally so the group still sums to 1.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gep.config import Config
from gep.errors import ConfigError
from gep.models.annual_water_yield import ID as AWY
from gep.models.habitat_quality import ID as HQ

ALIASES = {
    "seasonality_constant": f"models.{AWY}.seasonality_constant",
    "z": f"models.{AWY}.seasonality_constant",
    "kc_scale": f"models.{AWY}.kc_scale",
    "root_depth_scale": f"models.{AWY}.root_depth_scale",
    "half_saturation_constant": f"models.{HQ}.half_saturation_constant",
}
#: model settings the surrogates evaluate without InVEST (``threats.*.weight`` for HQ)
SURROGATE_KEYS = {AWY: ("seasonality_constant", "kc_scale", "root_depth_scale"),
                  HQ: ("half_saturation_constant",)}
#: model config fields that are not tunable (they change nothing in the results)
_NOT_TUNABLE = {"enabled", "n_workers"}
#: agreement numbers that are not tunable parameters
_AGREEMENT_FIXED = {"base_year", "end_year", "lookback_years"}
#: groups of agreement shares that must sum to 1
SHARE_GROUPS = (("tiers",), ("funding",))

UNITS = {
    f"models.{AWY}.seasonality_constant": "1 (Zhang's Z)",
    f"models.{AWY}.kc_scale": "factor on Kc",
    f"models.{AWY}.root_depth_scale": "factor on root depth",
    f"models.{HQ}.half_saturation_constant": "1 (degradation units)",
}


def is_surrogate_key(model: str, key: str) -> bool:
    if model == HQ and key.startswith("threats.") and key.endswith(".weight"):
        return True
    return key in SURROGATE_KEYS.get(model, ())


@dataclass(frozen=True)
class Parameter:
    """One tunable number, with its valid range and where it is applied."""

    name: str                         # canonical name
    target: str                       # "model" | "prices" | "agreement"
    path: tuple[str, ...]             # model: (model, key); prices/agreement: path in the file
    base: float
    integer: bool = False
    lower: float | None = None
    lower_inclusive: bool = True
    upper: float | None = None
    upper_inclusive: bool = True
    range_text: str = ""
    invest_check: Any = field(default=None, compare=False, repr=False)
    unit: str = ""

    @property
    def model(self) -> str | None:
        return self.path[0] if self.target == "model" else None

    @property
    def key(self) -> str:
        return self.path[1] if self.target == "model" else ".".join(self.path)

    @property
    def surrogate(self) -> bool:
        return self.target == "model" and is_surrogate_key(self.path[0], self.path[1])

    def bounds_text(self) -> str:
        if self.target == "agreement":
            return "the agreement's rules"
        return _bounds_text(self.lower, self.lower_inclusive, self.upper, self.upper_inclusive)


def _bounds_text(lower, lower_inclusive=True, upper=None, upper_inclusive=True) -> str:
    lo = "" if lower is None else f"{_num(lower)} {'<=' if lower_inclusive else '<'} "
    hi = "" if upper is None else f" {'<=' if upper_inclusive else '<'} {_num(upper)}"
    return f"{lo}value{hi}" if (lo or hi) else "any number"


def _num(x: float) -> str:
    return f"{x:g}"


def _bounds_from_field(finfo) -> dict:
    """(lower, inclusive, upper, inclusive) from a pydantic field's annotated-types metadata."""
    out: dict = {}
    for m in finfo.metadata:
        for attr, key, incl in (("ge", "lower", True), ("gt", "lower", False),
                                ("le", "upper", True), ("lt", "upper", False)):
            v = getattr(m, attr, None)
            if v is not None:
                out[key] = float(v)
                out[f"{key}_inclusive"] = incl
    return out


def _invest_input(model: str, key: str):
    """InVEST's own input spec for a model argument (None when InVEST has none)."""
    from gep import models

    mod = models.get(model).invest_module()
    try:
        return mod.MODEL_SPEC.get_input(key)
    except Exception:
        return None


def _invest_column(model: str, table_arg: str, column: str):
    spec = _invest_input(model, table_arg)
    for c in getattr(spec, "columns", []) or []:
        if c.id == column:
            return c
    return None


def _leaves(data: Any, prefix: tuple[str, ...] = ()):
    """(path, number) for every numeric leaf of a YAML mapping (lists of accounts by id)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, prefix + (str(k),))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            label = str(v["id"]) if isinstance(v, dict) and "id" in v else str(i)
            yield from _leaves(v, prefix + (label,))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield prefix, float(data)


def _set_path(data: Any, path: tuple[str, ...], value: float) -> None:
    node = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            idx = next((j for j, v in enumerate(node) if isinstance(v, dict)
                        and str(v.get("id")) == part), None)
            if idx is None:
                idx = int(part)
            if last:
                node[idx] = value
            else:
                node = node[idx]
        else:
            key = next((k for k in node if str(k) == part), part)
            if last:
                node[key] = value
            else:
                node = node[key]


def _get_path(data: Any, path: tuple[str, ...]):
    node = data
    for part in path:
        if isinstance(node, list):
            node = next((v for v in node if isinstance(v, dict) and str(v.get("id")) == part),
                        None) or node[int(part)]
        else:
            node = node[next((k for k in node if str(k) == part), part)]
    return node


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Scenario:
    """One combination of parameter values, resolved into what each stage reads."""

    values: tuple[tuple[str, float], ...]           # canonical name -> value
    settings: dict[str, dict[str, float]]           # model -> full tunable settings
    prices: dict                                    # price-file content
    prices_key: str
    agreement: dict | None                          # agreement content
    agreement_key: str | None


class ParameterSpace:
    """Every tunable parameter of one basin config, and how to apply values to it."""

    def __init__(self, cfg: Config, config_file: str | Path | None = None):
        self.cfg = cfg
        self.config_file = str(config_file) if config_file else None
        self.prices_path = cfg.path(cfg.valuation.prices)
        self.prices_data = _load_yaml(self.prices_path, "valuation.prices")
        self.agreement_path = cfg.path(cfg.compensation.agreement) \
            if cfg.compensation.agreement else None
        self.agreement_data = _load_yaml(self.agreement_path, "compensation.agreement") \
            if self.agreement_path else None
        #: the files' own content (a stage may read the file itself when nothing changed)
        self.prices_raw = copy.deepcopy(self.prices_data)
        self.agreement_raw = copy.deepcopy(self.agreement_data)
        if isinstance(self.agreement_data, dict):
            # settle only years the config computes GEP for (increments exist for them)
            end = self.agreement_data.get("end_year")
            last = max(cfg.years)
            if end is None or (isinstance(end, int) and end > last):
                self.agreement_data["end_year"] = last
        self.models = cfg.models.enabled()
        self.params: dict[str, Parameter] = {}
        self.base_settings: dict[str, dict[str, float]] = {}
        self._build_models()
        self._build_prices()
        self._build_agreement()

    # -- registry -----------------------------------------------------------------------------
    def _add(self, p: Parameter) -> None:
        self.params[p.name] = p

    def _build_models(self) -> None:
        for model in self.models:
            mcfg = getattr(self.cfg.models, model)
            settings: dict[str, float] = {}
            for fname, finfo in type(mcfg).model_fields.items():
                value = getattr(mcfg, fname)
                if fname in _NOT_TUNABLE or isinstance(value, bool) or \
                        not isinstance(value, (int, float)):
                    continue
                spec = _invest_input(model, fname)
                b = _bounds_from_field(finfo)
                text = f"gep config: {_bounds_text(**b)}"
                expr = getattr(spec, "expression", None)
                if expr:
                    text += f"; InVEST: {expr}"
                self._add(Parameter(f"models.{model}.{fname}", "model", (model, fname),
                                    float(value), isinstance(value, int), **b, range_text=text,
                                    invest_check=spec,
                                    unit=UNITS.get(f"models.{model}.{fname}", "")))
                settings[fname] = float(value)
            if model == AWY:
                for k in ("kc_scale", "root_depth_scale"):
                    self._add(Parameter(f"models.{AWY}.{k}", "model", (AWY, k), 1.0,
                                        lower=0.0, lower_inclusive=False,
                                        range_text="a positive factor on the biophysical table",
                                        unit=UNITS[f"models.{AWY}.{k}"]))
                    settings[k] = 1.0
            if model == HQ:
                import pandas as pd

                table = self.cfg.path(mcfg.threats_table)
                df = pd.read_csv(table)
                for _, row in df.iterrows():
                    t = str(row["threat"])
                    for col, lo, incl, hi in (("weight", 0.0, True, 1.0),
                                              ("max_dist", 0.0, False, None)):
                        spec = _invest_column(HQ, "threats_table_path", col)
                        text = ("InVEST: a ratio 0 <= value <= 1" if col == "weight"
                                else "InVEST: value > 0 (metres)")
                        self._add(Parameter(f"models.{HQ}.threats.{t}.{col}", "model",
                                            (HQ, f"threats.{t}.{col}"), float(row[col]),
                                            lower=lo, lower_inclusive=incl, upper=hi,
                                            range_text=text, invest_check=spec,
                                            unit="1" if col == "weight" else "m"))
                        settings[f"threats.{t}.{col}"] = float(row[col])
            self.base_settings[model] = settings

    def _build_prices(self) -> None:
        for path, value in _leaves(self.prices_data):
            if path[0] == "services":
                name = "prices." + ".".join(path[1:])
                lo, incl, text = 0.0, True, "prices cannot be negative"
            elif path[0] == "cpi":
                name = "prices." + ".".join(path)
                lo, incl, text = -1.0, False, "an annual CPI change above -1 (0.02 = 2 %)"
            else:
                continue
            self._add(Parameter(name, "prices", path, value, lower=lo, lower_inclusive=incl,
                                range_text=text))

    def _build_agreement(self) -> None:
        if self.agreement_data is None:
            return
        for path, value in _leaves(self.agreement_data):
            if path[-1] in _AGREEMENT_FIXED or path[0] in ("agreement", "currency"):
                continue
            self._add(Parameter(".".join(path), "agreement", path, value,
                                range_text="the agreement's rules (docs/compensation.md)"))

    def names(self) -> list[str]:
        return sorted(self.params)

    # -- lookup and checks --------------------------------------------------------------------
    def resolve(self, name: str) -> Parameter:
        """The parameter called ``name`` (canonical or alias), or a ConfigError with the
        closest names."""
        raw = name.strip()
        cands = [raw, ALIASES.get(raw.lower(), raw)]
        if raw.startswith("agreement."):
            cands.append(raw[len("agreement."):])
        if raw.startswith("threats."):
            cands.append(f"models.{HQ}.{raw}")
        for c in cands:
            if c in self.params:
                return self.params[c]
        canon = ALIASES.get(raw.lower(), raw)
        if canon.startswith("models."):
            model = canon.split(".")[1]
            from gep.config import MODEL_IDS

            if model in MODEL_IDS and model not in self.models:
                raise ConfigError(f"--param {raw}", f"model '{model}' is not enabled in this "
                                  "config, so its parameters cannot be tuned",
                                  f"set models.{model}.enabled: true, or drop this parameter",
                                  file=self.config_file)
        if raw.startswith(("agreement.", "reward.", "tiers.", "funding.")) and \
                self.agreement_data is None:
            raise ConfigError(f"--param {raw}", "this config has no compensation agreement",
                              "set compensation.agreement in the config", file=self.config_file)
        pool = self.names() + sorted(ALIASES)
        close = difflib.get_close_matches(raw, pool, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise ConfigError(f"--param {raw}", "no tunable parameter has this name",
                          f"{hint}`gep sweep --config C --list` prints every name",
                          file=self.config_file)

    def check_value(self, p: Parameter, value: float, label: str | None = None) -> float:
        """Return ``value`` (as float) if valid for ``p``; raise ConfigError otherwise."""
        label = label or p.name
        key = f"--param {label}"
        if not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ConfigError(key, f"{value!r} is not a finite number", "give numbers",
                              file=self.config_file)
        value = float(value)
        if p.integer and value != round(value):
            raise ConfigError(key, f"{_num(value)} is not a whole number (the config field is "
                              "an integer)", "give whole numbers", file=self.config_file)
        lo_bad = p.lower is not None and (value < p.lower or (value == p.lower and
                                                              not p.lower_inclusive))
        hi_bad = p.upper is not None and (value > p.upper or (value == p.upper and
                                                              not p.upper_inclusive))
        if lo_bad or hi_bad:
            raise ConfigError(key, f"value {_num(value)} is outside the valid range "
                              f"{p.bounds_text()} ({p.range_text})",
                              f"choose values with {p.bounds_text()}", file=self.config_file)
        if p.invest_check is not None and hasattr(p.invest_check, "validate"):
            msg = p.invest_check.validate(int(value) if p.integer else value)
            if msg:
                raise ConfigError(key, f"InVEST rejects {_num(value)}: {msg}",
                                  f"choose a value InVEST accepts ({p.range_text})",
                                  file=self.config_file)
        if p.target == "agreement":
            self._agreement_for({p: value}, label=label)
        return int(value) if p.integer else value

    # -- applying values ----------------------------------------------------------------------
    def scenario(self, assignment: dict[Parameter, float],
                 labels: dict[Parameter, str] | None = None) -> Scenario:
        """Resolve one combination (already value-checked) into each stage's inputs."""
        labels = labels or {}
        settings = {m: dict(s) for m, s in self.base_settings.items()}
        prices = copy.deepcopy(self.prices_data)
        for p, v in assignment.items():
            if p.target == "model":
                settings[p.path[0]][p.path[1]] = float(v)
            elif p.target == "prices":
                _set_path(prices, p.path, float(v))
        agreement = self._agreement_for({p: v for p, v in assignment.items()
                                         if p.target == "agreement"},
                                        label=", ".join(labels.get(p, p.name) for p in assignment
                                                        if p.target == "agreement") or None)
        values = tuple(sorted((p.name, float(v)) for p, v in assignment.items()))
        return Scenario(values, settings, prices, digest(prices), agreement,
                        digest(agreement) if agreement is not None else None)

    def _agreement_for(self, changes: dict[Parameter, float], label: str | None = None):
        """The agreement with ``changes`` applied (share groups renormalised), validated."""
        if self.agreement_data is None:
            return None
        data = copy.deepcopy(self.agreement_data)
        for p, v in changes.items():
            _set_path(data, p.path, float(v))
        swept = {p.path for p in changes}
        groups = [g for g in SHARE_GROUPS]
        bet = data.get("water_quality_bet", {})
        if isinstance(bet, dict) and isinstance(bet.get("indicators"), dict):
            groups.append(("water_quality_bet", "indicators"))
        for g in groups:
            self._renormalise(data, g, swept, label)
        if changes:
            from gep.compensation import validate_agreement

            try:
                validate_agreement(data, file=str(self.agreement_path))
            except ConfigError as exc:
                who = label or ", ".join(p.name for p in changes)
                raise ConfigError(f"--param {who}", f"the agreement would be invalid: "
                                  f"{exc.key}: {exc.problem}", exc.fix or "choose other values",
                                  file=self.config_file) from None
        return data

    def _renormalise(self, data: dict, group: tuple[str, ...], swept: set, label) -> None:
        try:
            node = _get_path(data, group)
        except (KeyError, TypeError, IndexError, ValueError):
            return
        if not isinstance(node, dict):
            return
        if group == ("water_quality_bet", "indicators"):
            members = {k: (group + (str(k), "weight")) for k in node}
        else:
            members = {k: group + (str(k),) for k in node}
        fixed = [k for k, path in members.items() if path in swept]
        if not fixed:
            return
        free = [k for k in members if k not in fixed]

        def get(k):
            return float(_get_path(data, members[k]))

        rest = 1.0 - sum(get(k) for k in fixed)
        if not free:
            return  # all shares given: validate_agreement checks they sum to 1
        if rest < -1e-12:
            raise ConfigError(f"--param {label or '.'.join(group)}",
                              f"the swept shares of {'.'.join(group)} add up to "
                              f"{1 - rest:g}, more than 1", "lower them so they sum to 1 or less",
                              file=self.config_file)
        base = sum(float(_get_path(self.agreement_data, members[k])) for k in free)
        for k in free:
            b = float(_get_path(self.agreement_data, members[k]))
            _set_path(data, members[k], max(rest, 0.0) * (b / base if base > 0 else 1 / len(free)))

    # -- model settings -> InVEST ----------------------------------------------------------------
    def reference(self, model: str, settings: dict[str, float]) -> dict[str, float]:
        """``settings`` with every surrogate-evaluable key back at its base value: the InVEST
        run a surrogate starts from."""
        base = self.base_settings[model]
        return {k: (base[k] if is_surrogate_key(model, k) else v) for k, v in settings.items()}

    def invest_params(self, model: str, settings: dict[str, float]
                      ) -> tuple[dict[str, Any], dict[str, str]]:
        """InVEST parameters (``gep.invest.model_params`` with ``settings`` applied) and the
        content of any table the settings rewrite (param key -> CSV text)."""
        import pandas as pd

        from gep.invest import model_params

        params = model_params(self.cfg, model)
        fields = type(getattr(self.cfg.models, model)).model_fields
        for k, v in settings.items():
            if k in params and k in fields:
                params[k] = int(v) if isinstance(params[k], int) and not \
                    isinstance(params[k], bool) else float(v)
        tables: dict[str, str] = {}
        if model == AWY and (settings.get("kc_scale", 1.0) != 1.0 or
                             settings.get("root_depth_scale", 1.0) != 1.0):
            df = pd.read_csv(params["biophysical_table"])
            df["kc"] = df["kc"].astype(float) * settings.get("kc_scale", 1.0)
            df["root_depth"] = df["root_depth"].astype(float) * settings.get(
                "root_depth_scale", 1.0)
            tables["biophysical_table"] = df.to_csv(index=False)
        if model == HQ:
            df = pd.read_csv(params["threats_table"])
            changed = False
            for i, row in df.iterrows():
                for col in ("weight", "max_dist"):
                    k = f"threats.{row['threat']}.{col}"
                    if k in settings and float(settings[k]) != float(row[col]):
                        df.loc[i, col] = float(settings[k])
                        changed = True
            if changed:
                tables["threats_table"] = df.to_csv(index=False)
        return params, tables


def _load_yaml(path: Path | None, key: str) -> dict:
    if path is None or not Path(path).is_file():
        raise ConfigError(key, f"file {path} does not exist", "point it at an existing file")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("(syntax)", f"not valid YAML ({exc})", "fix it", file=str(path)) \
            from None
    return data


# -- the sweep grammar ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSpec:
    label: str                 # the name as the user wrote it (column of the output table)
    param: Parameter
    values: tuple[float, ...]


def _float(text: str, key: str, what: str, file: str | None) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(key, f"{what} '{text}' is not a number",
                          "write numbers like 2.5 or 1e-3", file=file) from None
    if not math.isfinite(v):
        raise ConfigError(key, f"{what} '{text}' is not finite", "give a finite number",
                          file=file)
    return v


#: Most values one ``min:max:n`` range may expand to (the sweep's size is checked again, against
#: ``sweep.max_combinations`` of tuning.yaml, once every parameter is parsed).
MAX_RANGE_VALUES = 10000


def parse_values(spec: str, key: str, file: str | None = None) -> list[float]:
    """Values of one ``name=SPEC`` (see the module docstring)."""
    spec = spec.strip()
    if not spec:
        raise ConfigError(key, "no values given", "write name=value, name=a,b,c or "
                          "name=min:max:n", file=file)
    if ":" in spec:
        parts = [s.strip() for s in spec.split(":")]
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("lin", "log")):
            raise ConfigError(key, f"range '{spec}' is not min:max:n or min:max:n:log",
                              "write e.g. 1:30:15 (15 values from 1 to 30)", file=file)
        lo = _float(parts[0], key, "min", file)
        hi = _float(parts[1], key, "max", file)
        try:
            n = int(parts[2])
        except ValueError:
            raise ConfigError(key, f"count '{parts[2]}' is not a whole number",
                              "write e.g. 1:30:15", file=file) from None
        if lo > hi:
            raise ConfigError(key, f"min {_num(lo)} is greater than max {_num(hi)}",
                              f"write {_num(hi)}:{_num(lo)}:{n}", file=file)
        if n < 2:
            raise ConfigError(key, f"a range needs at least 2 values, got {n}",
                              "use name=value for a single value", file=file)
        if n > MAX_RANGE_VALUES:
            raise ConfigError(key, f"a range of {n} values is more than the {MAX_RANGE_VALUES} "
                              "allowed", "use fewer values, e.g. 1:30:15", file=file)
        if lo == hi:
            raise ConfigError(key, f"min equals max ({_num(lo)}): the range is empty",
                              f"use name={_num(lo)} for a single value", file=file)
        log = len(parts) == 4 and parts[3] == "log"
        if log and lo <= 0:
            raise ConfigError(key, "a log range needs min > 0", "use a linear range",
                              file=file)
        vals = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
        return [float(v) for v in vals]
    items = [s.strip() for s in spec.split(",")]
    if any(not s for s in items):
        raise ConfigError(key, f"empty value in list '{spec}'", "write name=a,b,c", file=file)
    vals = [_float(s, key, "value", file) for s in items]
    dup = {v for v in vals if vals.count(v) > 1}
    if dup:
        raise ConfigError(key, f"value {_num(sorted(dup)[0])} is given twice",
                          "list each value once", file=file)
    return vals


def parse_sweep(space: ParameterSpace, texts: list[str]) -> list[SweepSpec]:
    """Parse and validate every ``--param name=SPEC``; nothing runs before this passes."""
    if not texts:
        raise ConfigError("--param", "no parameter to sweep",
                          "add --param name=SPEC, e.g. --param seasonality_constant=1:30:15",
                          file=space.config_file)
    specs: list[SweepSpec] = []
    seen: dict[str, str] = {}
    for text in texts:
        if "=" not in text:
            raise ConfigError(f"--param {text}", "expected name=SPEC",
                              "write e.g. --param reward.rate=0.1,0.15,0.2",
                              file=space.config_file)
        label, spec = (s.strip() for s in text.split("=", 1))
        p = space.resolve(label)
        if p.name in seen:
            raise ConfigError(f"--param {label}", f"parameter given twice (also as "
                              f"'{seen[p.name]}')", "give each parameter once",
                              file=space.config_file)
        seen[p.name] = label
        vals = parse_values(spec, f"--param {label}", space.config_file)
        vals = [space.check_value(p, v, label) for v in vals]
        specs.append(SweepSpec(label, p, tuple(vals)))
    return specs
