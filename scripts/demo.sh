#!/usr/bin/env bash
# The whole pipeline on transcripts_sample/ into demo-out/ (run by `make demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
QC=.venv/bin/qualcode
OUT=demo-out
CODEBOOK=codebooks/innovaatioekosysteemi.yaml
DECISIONS=transcripts_sample/review-decisions.csv

rm -rf "$OUT"
$QC init "$OUT" --coder demo --codebook "$CODEBOOK" >/dev/null
export QUALCODE_PROJECT="$OUT"

echo "== 1. Importing transcripts_sample/"
$QC import transcripts_sample/
echo
$QC status
echo
echo "== 1b. Finding names to pseudonymise (people and organisations)"
$QC names detect
echo
echo "== 1c. A workshop transcript with named speakers: a segment per speaker change, each"
echo "       speaker's quotes signed by its own metadata.csv row (names pseudonymised)"
.venv/bin/python - "$OUT" lounajoki-tyopaja-keskustelu.txt <<'PY'
import sys
from collections import Counter
from pathlib import Path
from qualcode.project import open_project
from qualcode.workflow.names import filter_for
from qualcode.workflow.reporting import load_matrix_data

project = open_project(Path(sys.argv[1]))
clean = filter_for(project, True)
doc = project.store.documents.document_by_name(sys.argv[2])
segments = load_matrix_data(project).segments
rows = segments[segments["document_id"] == doc.id]
counts = Counter(r.speaker for r in rows.itertuples() if r.speaker)
for r in rows.drop_duplicates("speaker").itertuples():
    if not r.speaker:
        continue
    sign = "interviewer turns, never quoted" if r.is_interviewer else f"signed '{r.role or 'työpajan osallistuja'}'"
    print(f"  {clean(r.speaker):<28} {counts[r.speaker]:>2} segment(s), {sign}")
project.close()
PY
echo
echo "== 2. Checking the codebook"
$QC codebook check "$CODEBOOK"
echo
echo "== 3. Tagging with the codebook's Finnish-aware rules"
$QC tag --out "$OUT/review.csv"
echo
echo "== 4. Applying the researcher's decisions ($DECISIONS)"
$QC review "$DECISIONS" --coder tutkija
echo
echo "== 5. Training the suggester on those decisions"
$QC train | tail -n 4
echo
echo "== 6. Round two: new interviews arrive; rules and model suggest, least certain first"
$QC import transcripts_sample/round2/
$QC tag --out "$OUT/review-round2.csv" --order uncertainty | grep -E "^(Model|Suggestions|Wrote)"
$QC export segments --out "$OUT/segments.csv" >/dev/null
$QC export codings --out "$OUT/codings.csv"
echo
echo "== 7. Theme matrix and Word situation snapshots"
$QC matrix --out "$OUT/matriisi.xlsx" --plot "$OUT/teemat.png" | tail -n 2
$QC report --all --out "$OUT/raportit"
$QC names export --out "$OUT/nimet.csv" >/dev/null
echo
echo "== 8. Before sending a report: registry names left, or words that may be unknown names"
# Exit code 1 means "look at these"; the demo goes on.
$QC names check --unknown --out "$OUT/nimet-tarkistettavat.csv" "$OUT/raportit/Saarvala.docx" || true

echo
echo "Demo project: $OUT/ (settings $OUT/qualcode.toml, store $OUT/qualcode.db)"
echo "Review CSVs:  $OUT/review.csv (round 1), $OUT/review-round2.csv (round 2, with model suggestions)"
echo "Segments:     $OUT/segments.csv"
echo "Codings:      $OUT/codings.csv"
echo "Matrix:       $OUT/matriisi.xlsx, heat map $OUT/teemat.png"
echo "Reports:      $OUT/raportit/ (one .docx per city + yhteenveto.docx)"
echo "Names:        $OUT/nimet.csv (the pseudonymisation registry to review)"
echo "              $OUT/nimet-tarkistettavat.csv (words in Saarvala.docx that may be names; review, then 'names import')"

echo
echo "== 9. The researcher's memo, kept across report runs, and the reading list per theme"
# Memos are plain Markdown under memos/: one file per city, '## id' per report section.
mkdir -p "$OUT/memos"
cat > "$OUT/memos/Saarvala.md" <<'MEMO'
# Saarvala: tutkijan muistiot

## yhteistyo
Yhteistyö oppilaitosten kanssa nojaa Saarvalassa muutamaan henkilöön; pysyvää rakennetta
ei vielä ole. Tämä on tutkijan tulkinta, ei aineiston suora sisältö.

## strategia
Strategiassa kannattaa aloittaa pysyvästä koordinaattorista ja oppilaitosyhteistyön
sopimuksesta.
MEMO
# Regenerating the report keeps the memo: it lives in the file, not in the report.
$QC report --city Saarvala --out "$OUT/raportit" >/dev/null
$QC report --city Saarvala --out "$OUT/raportit"
$QC export quotes --out "$OUT/lainaukset.xlsx"
echo
echo "Memo:         $OUT/memos/Saarvala.md (shown in $OUT/raportit/Saarvala.docx under 'Yhteistyö' and 'Strategian lähtökohdat')"
echo "Quotes:       $OUT/lainaukset.xlsx (every accepted coding with its text, one sheet per theme)"
