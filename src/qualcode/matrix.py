"""Framework matrices: accepted codings per city (or role, organisation type, kind) and theme.

Every number can be recomputed from ``qualcode export codings`` and ``qualcode export
segments``:

- ``segments``: distinct segments of the group coded with the code (or, at theme level, with
  any code under the theme);
- ``documents``: distinct documents (interviews and workshops) of the group with such a segment;
- ``share_of_interviewees``: interviewees of the group who raised it, divided by the group's
  interviewees (an interviewee is the participant of an interview document, or the document
  when no participant is named; workshops have no interviewees);
- ``per_1000_words``: ``segments`` per 1,000 words of the group's segments (all segments,
  interviewer turns included; words as ``\\w+(?:[-'’]\\w+)*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qualcode.choices import MATRIX_GROUPS, MATRIX_LEVELS, MATRIX_MEASURES
from qualcode.codebook import Codebook

GROUPS = MATRIX_GROUPS
LEVELS = MATRIX_LEVELS
MEASURES = MATRIX_MEASURES


@dataclass(frozen=True)
class MatrixData:
    """What the matrix needs from the store, as data frames."""

    documents: pd.DataFrame  # id, name, city, participant, role, organisation_type, kind, words
    # segment_id, document_id, code, score, source, text, seq, speaker, start, start_time,
    # evidence (JSON or None), and, from load_matrix_data, the speaker's own participant, role,
    # organisation_type and is_interviewer: quotes are signed, and --by role/organisation_type
    # counted, by speaker
    codings: pd.DataFrame
    # segment_id, document_id, speaker, is_interviewer, words, participant, role,
    # organisation_type of every segment: the word and interviewee totals of speaker groups
    segments: pd.DataFrame | None = None


SPEAKER_GROUPS = ("role", "organisation_type")


def _voice(document_id: str, participant: object, speaker: object) -> str:
    """An interviewee counted by speaker: the named participant, else the document's speaker."""
    if isinstance(participant, str) and participant:
        return participant
    return f"{document_id}\x00{speaker if isinstance(speaker, str) else ''}"


def _interviewee(doc: pd.Series) -> str | None:
    if doc["kind"] != "interview":
        return None
    return str(doc["participant"] or doc["name"])


def _column_codes(codebook: Codebook, level: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(column id, label, codes counted in it) in codebook order."""
    if level == "code":
        return [(c.id, c.label, (c.id,)) for c in codebook.codes if c.codable]
    out = []
    for theme in (c for c in codebook.codes if c.parent is None):
        members = tuple(c.id for c in codebook.codes if codebook.theme_of(c.id) == theme.id)
        out.append((theme.id, theme.label, members))
    return out


def build_matrix(
    data: MatrixData, codebook: Codebook, *, by: str = "city", level: str = "theme"
) -> pd.DataFrame:
    """Tidy long matrix: one row per (group, column) with the four measures."""
    if by not in GROUPS:
        raise ValueError(f"by must be one of {GROUPS}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    docs = data.documents.copy()
    docs[by] = docs[by].fillna("").astype(str)
    docs["interviewee"] = docs.apply(_interviewee, axis=1)
    if by in SPEAKER_GROUPS and by in data.codings.columns and data.segments is not None:
        # Role and organisation type are the speaker's own (metadata.csv speaker rows).
        kinds = dict(zip(docs["id"], docs["kind"], strict=True))
        segs = data.segments.copy()
        segs[by] = segs[by].fillna("").astype(str)
        voiced = [
            kinds.get(d) == "interview" and not i
            for d, i in zip(segs["document_id"], segs["is_interviewer"], strict=True)
        ]
        segs["interviewee"] = [
            _voice(d, p, sp) if v else None
            for d, p, sp, v in zip(
                segs["document_id"], segs["participant"], segs["speaker"], voiced, strict=True
            )
        ]
        codings = data.codings.merge(
            segs[["segment_id", "interviewee"]], on="segment_id", how="left"
        ).merge(docs[["id"]], left_on="document_id", right_on="id", how="inner")
        codings[by] = codings[by].fillna("").astype(str)
        groups = sorted(set(segs[by]) | set(codings[by]))
        words = segs.groupby(by)["words"].sum()
        interviewees = segs.dropna(subset=["interviewee"]).groupby(by)["interviewee"].nunique()
    else:
        codings = data.codings.drop(columns=[by], errors="ignore").merge(
            docs[["id", by, "interviewee"]], left_on="document_id", right_on="id", how="inner"
        )
        groups = sorted(docs[by].unique())
        words = docs.groupby(by)["words"].sum()
        interviewees = docs.dropna(subset=["interviewee"]).groupby(by)["interviewee"].nunique()
    rows: list[dict[str, Any]] = []
    for column, label, members in _column_codes(codebook, level):
        subset = codings[codings["code"].isin(members)]
        for group in groups:
            cell = subset[subset[by] == group]
            n_segments = int(cell["segment_id"].nunique())
            n_people = int(cell["interviewee"].dropna().nunique())
            total_people = int(interviewees.get(group, 0))
            total_words = int(words.get(group, 0))
            rows.append(
                {
                    by: group,
                    "code": column,
                    "label": label,
                    "segments": n_segments,
                    "documents": int(cell["document_id"].nunique()),
                    "share_of_interviewees": round(n_people / total_people, 4)
                    if total_people
                    else None,
                    "per_1000_words": round(1000 * n_segments / total_words, 4)
                    if total_words
                    else None,
                }
            )
    return pd.DataFrame(rows, columns=[by, "code", "label", *MEASURES])


def wide(long: pd.DataFrame, measure: str, by: str = "city") -> pd.DataFrame:
    """Rows = groups, columns = labels (codebook order), values = one measure."""
    order = list(dict.fromkeys(long["label"]))
    table = long.pivot(index=by, columns="label", values=measure)
    return table[order]


QUOTE_COLUMNS = (
    "code",
    "segment_id",
    "document",
    "role",
    "organisation_type",
    "score",
    "time",
    "text",
    "start",
    "evidence",
)


def _text(value: object) -> str:
    """A metadata cell as text: pandas 3 stores a missing value in a column that also holds
    strings as NaN (truthy, shown as 'nan'), not None."""
    return "" if value is None or pd.isna(value) else str(value)


def representative_quotes(
    data: MatrixData,
    codebook: Codebook,
    *,
    by: str = "city",
    level: str = "theme",
    per_cell: int = 3,
    per_document: int | None = 1,
) -> pd.DataFrame:
    """The highest-scoring accepted codings per cell, one row per segment.

    With ``per_document`` 1 (the quotes sheet) a cell shows at most one segment per document.
    With None (the report, which skips quotes it has already shown) every document's best
    segment comes first, then every document's second best, and so on, so that a one-document
    city still has candidates. ``evidence`` is the union of the cell's codings' evidence on
    that segment (JSON list of [form, start, end, rule], document offsets); ``start`` is the
    segment's offset in its document; ``time`` its start time in seconds (None without one).
    """
    import json

    docs = data.documents.copy()
    docs[by] = docs[by].fillna("").astype(str)
    # Quotes are signed by the speaker's own role (load_matrix_data puts it on the codings);
    # interviewer turns are never quoted.
    own = [c for c in ("role", "organisation_type") if c in data.codings.columns]
    codings = data.codings
    if "is_interviewer" in codings.columns:
        codings = codings[~codings["is_interviewer"].astype(bool)]
    wanted = ["id", "name", by, "role", "organisation_type"]
    codings = codings.merge(
        docs[[c for c in dict.fromkeys(wanted) if c not in own]],
        left_on="document_id",
        right_on="id",
        how="inner",
    )
    codings[by] = codings[by].fillna("").astype(str)
    # Manual and review codings carry no score: a researcher's choice counts as certain.
    codings["rank_score"] = codings["score"].fillna(1.0)
    rows = []
    for column, _label, members in _column_codes(codebook, level):
        subset = codings[codings["code"].isin(members)]
        for group, cell in subset.groupby(by, sort=True):
            evidence: dict[str, list[list[object]]] = {}
            for sid, raw in zip(cell["segment_id"], cell["evidence"], strict=True):
                found = json.loads(raw) if isinstance(raw, str) and raw else []
                evidence.setdefault(str(sid), []).extend(found)
            ordered = cell.sort_values(
                ["rank_score", "document_id", "seq"], ascending=[False, True, True]
            ).drop_duplicates("segment_id")
            ordered = ordered.assign(doc_rank=ordered.groupby("document_id").cumcount())
            if per_document is not None:
                ordered = ordered[ordered["doc_rank"] < per_document]
            picked = ordered.sort_values(
                ["doc_rank", "rank_score", "document_id", "seq"],
                ascending=[True, False, True, True],
                kind="stable",
            ).head(per_cell)
            for _, r in picked.iterrows():
                hits = sorted(
                    {(int(str(e[1])), int(str(e[2])), str(e[0])) for e in evidence[r["segment_id"]]}
                )
                time = r["start_time"]
                rows.append(
                    {
                        by: group,
                        "code": column,
                        "segment_id": r["segment_id"],
                        "document": r["name"],
                        "role": _text(r["role"]),
                        "organisation_type": _text(r["organisation_type"]),
                        "score": float(r["rank_score"]),
                        "time": None if time is None or pd.isna(time) else float(time),
                        "text": r["text"],
                        "start": int(r["start"]),
                        "evidence": json.dumps([[f, a, b] for a, b, f in hits], ensure_ascii=False),
                    }
                )
    return pd.DataFrame(rows, columns=[by, *QUOTE_COLUMNS])


MEASURE_TITLES = {
    "fi": {
        "segments": "koodatut segmentit",
        "documents": "dokumentit",
        "share_of_interviewees": "osuus haastateltavista (%)",
        "per_1000_words": "mainintoja / 1 000 sanaa",
    },
    "en": {
        "segments": "coded segments",
        "documents": "documents",
        "share_of_interviewees": "share of interviewees (%)",
        "per_1000_words": "mentions per 1,000 words",
    },
}


def heatmap(
    long: pd.DataFrame,
    path: Path,
    *,
    measure: str = "per_1000_words",
    by: str = "city",
    title: str = "",
    lang: str = "fi",
    highlight: str | None = None,
) -> Path:
    """A readable heat map (PNG): groups as rows, themes/codes as columns, values written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = wide(long, measure, by).astype(float)
    if measure == "share_of_interviewees":
        table = table * 100
    n_rows, n_cols = table.shape
    fig_w = max(8.0, 0.95 * n_cols + 3.0)
    fig_h = max(3.6, 0.75 * n_rows + 3.4)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=150)
    values = table.to_numpy()
    image = ax.imshow(values, cmap="YlGnBu", aspect="auto")
    ax.set_xticks(
        range(n_cols),
        labels=_wrap_labels(list(table.columns)),
        rotation=40,
        ha="right",
        fontsize=11,
    )
    ax.set_yticks(range(n_rows), labels=list(table.index), fontsize=12)
    if highlight is not None and highlight in list(table.index):
        # The report's own city: a marker, a bold label and a frame round its row, visible in
        # print and in grey scale alike.
        from matplotlib.patches import Rectangle

        row = list(table.index).index(highlight)
        ax.set_yticks(
            range(n_rows),
            labels=[f"▶ {g}" if g == highlight else str(g) for g in table.index],
            fontsize=12,
        )
        ax.get_yticklabels()[row].set_fontweight("bold")
        ax.add_patch(
            Rectangle(
                (-0.5, row - 0.5),
                n_cols,
                1,
                fill=False,
                edgecolor="#c0392b",
                linewidth=3,
                clip_on=False,
                zorder=3,
            )
        )
    finite = values[~pd.isna(values)]
    top = float(finite.max()) if finite.size else 0.0
    for i in range(n_rows):
        for j in range(n_cols):
            v = values[i, j]
            if pd.isna(v):
                continue
            text = f"{v:.0f}" if measure != "per_1000_words" else f"{v:.1f}"
            if lang == "fi":
                text = text.replace(".", ",")
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=11,
                color="white" if top and v > 0.6 * top else "black",
            )
    fig.colorbar(
        image,
        ax=ax,
        fraction=0.03,
        pad=0.02,
        label=MEASURE_TITLES.get(lang, MEASURE_TITLES["fi"])[measure],
    )
    if title:
        ax.set_title(title, fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata so that the same data gives the same bytes.
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return path


def _wrap_labels(labels: Sequence[str], width: int = 22) -> list[str]:
    import textwrap

    return ["\n".join(textwrap.wrap(label, width)) or label for label in labels]
