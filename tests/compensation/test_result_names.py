"""allocate writes, and the narrative reads, the files gep.paths.CompensationFiles names."""
from __future__ import annotations

import pytest

from gep.compensation import allocate, narrative
from gep.compensation.allocate import OUTPUT_FILES
from gep.errors import InputDataError
from gep.paths import CompensationFiles

from .helpers import agreement_dict, quality_rows, write_case


def test_output_files_are_the_compensation_folder_names():
    assert OUTPUT_FILES == CompensationFiles.NAMES


def test_allocate_writes_where_paths_says(tmp_path):
    inputs = write_case(tmp_path / "in", agreement_dict(reward=None),
                        None, quality_rows({2021: 1.0, 2022: 1.1}))
    out = tmp_path / "out"
    paths = allocate(out_dir=out, **inputs)
    files = CompensationFiles(out)
    assert paths == {k: files.file(k) for k in CompensationFiles.NAMES}
    assert sorted(p.name for p in out.iterdir()) == sorted(CompensationFiles.NAMES.values())
    story = narrative(files)  # a folder object is path-like
    assert set(story["up_a"]) == {2021, 2022}


@pytest.mark.parametrize("gone", ["summary", "statement"])
def test_narrative_names_the_missing_engine_file(tmp_path, gone):
    inputs = write_case(tmp_path / "in", agreement_dict(reward=None),
                        None, quality_rows({2021: 1.0}))
    files = CompensationFiles(tmp_path / "out")
    allocate(out_dir=files, **inputs)
    files.file(gone).unlink()
    with pytest.raises(InputDataError) as err:
        narrative(files)
    assert err.value.file == str(files.file(gone))
