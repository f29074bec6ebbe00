from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import SAMPLE, Invoke
from qualcode.csvout import csv_bytes, excel_safe


def test_export_segments_columns_bom_and_finnish(
    qc: Invoke, project_dir: Path, tmp_path: Path
) -> None:
    qc("import", SAMPLE)
    out = tmp_path / "segments.csv"
    result = qc("export", "segments", "--out", out)
    assert result.exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == [
        "segment_id",
        "document",
        "city",
        "participant",
        "role",
        "kind",
        "speaker",
        "is_interviewer",
        "start",
        "end",
        "start_time",
        "end_time",
        "text",
    ]
    rows = list(reader)
    assert len(rows) > 400
    assert any("ä" in r["text"] and "ö" in r["text"] for r in rows)
    assert {r["is_interviewer"] for r in rows} == {"0", "1"}
    # Same project, same file: exports are deterministic.
    again = tmp_path / "again.csv"
    qc("export", "segments", "--out", again)
    assert again.read_bytes() == data


def test_cells_are_safe_in_excel() -> None:
    assert excel_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for dangerous in ("+358 40", "-summa", "@SUM(A1)", "\tx", "\rx"):
        assert excel_safe(dangerous).startswith("'")
    assert excel_safe("Yhteistyö = tärkeää") == "Yhteistyö = tärkeää"
    assert excel_safe(-3) == "-3"
    data = csv_bytes(["a"], [["=1+1"], ["ok"]]).decode("utf-8-sig")
    assert data == "a\r\n'=1+1\r\nok\r\n"


def test_memo_list_items_are_exported_safely(qc: Invoke, tmp_path: Path) -> None:
    memo = tmp_path / "muistio.txt"
    memo.write_text("Ideat:\n\n=KOMENTO() ei saa ajautua\n\n+ plus alkaa", encoding="utf-8")
    qc("import", memo, "--city", "Saarvala", "--kind", "workshop")
    out = tmp_path / "s.csv"
    qc("export", "segments", "--out", out)
    texts = [r["text"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))]
    assert texts == ["Ideat:", "'=KOMENTO() ei saa ajautua", "'+ plus alkaa"]
