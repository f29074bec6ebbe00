"""Trained models."""

from __future__ import annotations

from qualcode.store.connection import Database, now
from qualcode.store.rows import ModelData, ModelInfo


class Models:
    """The trained suggesters (``store.models``): archives, never pickles (see classify.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[ModelInfo]:
        """The stored models, newest first."""
        return [
            ModelInfo(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
            for r in self._db.conn.execute(
                """SELECT id, created, qualcode_version, training_digest, codebook_digest,
                          summary FROM models ORDER BY id DESC"""
            )
        ]

    def save_model(
        self,
        *,
        version: str,
        training_digest: str,
        codebook_digest: str,
        summary: str,
        data: bytes,
    ) -> int:
        cursor = self._db.conn.execute(
            """INSERT INTO models (created, qualcode_version, training_digest, codebook_digest,
                 summary, data) VALUES (?, ?, ?, ?, ?, ?)""",
            (now(), version, training_digest, codebook_digest, summary, data),
        )
        return int(cursor.lastrowid or 0)

    def model_data(self, model_id: int | None = None) -> ModelData | None:
        """One model's archive and summary, by default the newest's."""
        if model_id is None:
            row = self._db.conn.execute(
                "SELECT id, data, summary FROM models ORDER BY id DESC LIMIT 1"
            ).fetchone()
        else:
            row = self._db.conn.execute(
                "SELECT id, data, summary FROM models WHERE id = ?", (model_id,)
            ).fetchone()
        return ModelData(int(row[0]), bytes(row[1]), str(row[2])) if row else None
