"""Egregora identity: existing rows move to upstream Egregora's keys and contents.

Before this revision, ingestion derived its own ids and pseudonyms; now it
follows upstream's (``egregora_pipeline/ingestion/identity.py``, upstream
franklinbaldo/egregora at ``1123bf243``; ``docs/schema.md``, "Egregora
compatibility"). This revision gives the rows already stored the keys a fresh
ingest would give them, so that one document is one row whoever wrote it (only
the rows this project wrote from a file, ``extensions.origin``; another writer's
rows are its own business):

* a post whose id is the old ``uuid5(documents-namespace, "post:" + slug)`` is
  re-keyed to its cleaned slug (``Document.document_id``); every post's
  ``slug`` is cleaned the same way;
* a profile whose ``subject_uuid`` is the old pseudonym of its author
  (``uuid5(old-namespace, author)``) gets upstream's; a profile whose id is
  the old ``uuid5(.., "profile:" + key)`` is re-keyed to its ``subject_uuid``;
  a profile whose ``content`` is only its body gets its front matter back,
  rebuilt from its columns (``frontmatter.loads`` reads it; ingesting the file
  again after an edit replaces it with the file itself);
* post ``authors`` that name a profile become its ``subject_uuid``;
* every message whose ``author_uuid`` is the old pseudonym of its
  ``author_raw`` gets upstream's. ``event_id`` hashes ``author_raw``, not the
  pseudonym, so it does not change: re-ingesting an export loaded before adds
  nothing. Pseudonyms made with a configured (salted) namespace are left alone.

Every FOREIGN KEY reference to a re-keyed ``documents`` row (upstream's
``annotations``, ``document_relations``, ``entity_aliases``) is re-pointed
while the referencing tables are lifted (:mod:`egregora_pipeline.backends.references_base`).
A row upstream already wrote under the new key (its copy of the same profile
or post) is replaced by this project's, which keeps the file it came from.
Two rows whose new keys collide keep the first; the other keeps its old id
(said in the plan): no row is lost. All in the revision's one transaction,
after the engine's automatic backup (a Python step counts as rewriting data).

The old formulas are frozen here (the library no longer has them). The schema
does not change, so the downgrade changes nothing: restore the automatic
backup to get the old keys back.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Final

from egregora_pipeline.migrations.ops import DataStep, Operations

revision = "0002"
down_revision = "0001"
message = "egregora identity: upstream's document keys, profile contents, authors, pseudonyms"

OLD_DOCUMENT_NAMESPACE: Final = uuid.UUID("0c4f6e0e-9a55-5b8e-8f0a-2f7b1d3c9e41")
OLD_AUTHOR_NAMESPACE: Final = uuid.UUID("6f0f3c1e-7c39-5b7a-9a34-3d1c0e4b8a21")
SYSTEM_AUTHOR_KEY: Final = "\x00whatsapp-system"
_RESERVED: Final = ("origin", "local_time", "local_time_fields")


def _old_id(doc_type: str, key: str) -> str:
    return str(uuid.uuid5(OLD_DOCUMENT_NAMESPACE, f"{doc_type}:{key}"))


def _old_pseudonym(name: str) -> str:
    return str(uuid.uuid5(OLD_AUTHOR_NAMESPACE, name))


def _extensions(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        loaded = json.loads(text) if text else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _stem(extensions: dict[str, Any]) -> str | None:
    origin = extensions.get("origin")
    if not isinstance(origin, str):
        return None
    return origin.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _front_matter(row: dict[str, Any], extensions: dict[str, Any]) -> str:
    """The profile's front matter, rebuilt from what ingestion split into columns."""
    import yaml

    meta: dict[str, Any] = {}
    for column in ("title", "alias", "summary", "avatar_url", "interests", "subject_uuid"):
        if row.get(column) not in (None, "", []):
            meta[column] = list(row[column]) if column == "interests" else row[column]
    if row.get("status") not in (None, "published"):
        meta["status"] = row["status"]
    for key, value in extensions.items():
        if key not in _RESERVED:
            meta[key.removeprefix("front_matter:")] = value
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _has_front_matter(content: str | None) -> bool:
    return bool(content) and str(content).lstrip("\ufeff\n\r\t ").startswith("---")


def _columns(step: DataStep, table: str) -> set[str]:
    """The columns ``table`` has where the rows are read (none: no such table yet)."""
    found = step.read(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ?",
        [table],
    )
    return {str(r[0]) for r in found}


def _migrate(step: DataStep) -> None:
    from egregora_pipeline.backends.references_base import lifted_references
    from egregora_pipeline.ingestion.identity import author_uuid, index_profiles, upstream_slug
    from egregora_pipeline.ingestion.whatsapp.messages import clean_author

    have = _columns(step, "documents")
    names = [
        "id",
        "doc_type",
        "slug",
        "subject_uuid",
        "title",
        "alias",
        "summary",
        "avatar_url",
        "interests",
        "status",
        "authors",
        "content",
        "extensions",
    ]
    selected = ", ".join(
        ("CAST(extensions AS VARCHAR)" if n == "extensions" else n) if n in have else "NULL"
        for n in names
    )
    # no documents yet (a dry run from an empty file): no rows, the same statements
    fetched = (
        step.read(
            f"SELECT {selected} FROM documents WHERE doc_type IN ('post', 'profile') ORDER BY id"
        )
        if {"id", "doc_type", "extensions"} <= have
        else []
    )
    # only the rows this project wrote from a file (another writer's are its own business)
    rows = [
        row
        for row in (dict(zip(names, r, strict=True)) for r in fetched)
        if _extensions(row["extensions"]).get("origin") is not None
    ]
    # rows another writer (upstream) made carry no origin: a copy of ours may be replaced
    existing = (
        {
            str(r[0]): r[1] is not None
            for r in step.read("SELECT id, extensions->>'origin' FROM documents")
        }
        if {"id", "extensions"} <= have
        else {}
    )

    new_ids: dict[str, str] = {}  # old id -> new id
    changes: dict[str, dict[str, Any]] = {}  # old id -> column -> new value
    subjects: dict[str, str] = {}  # old subject_uuid -> new one

    for row in rows:
        if row["doc_type"] != "profile":
            continue
        ext = _extensions(row["extensions"])
        old_subject = row["subject_uuid"]
        subject = old_subject
        for name in (ext.get("author"), ext.get("name"), row["title"]):
            if (
                isinstance(name, str)
                and name.strip()
                and old_subject == _old_pseudonym(name.strip())
            ):
                subject = author_uuid(clean_author(name.strip()))
                break
        change: dict[str, Any] = {}
        if subject and subject != old_subject:
            subjects[str(old_subject)] = subject
            change["subject_uuid"] = subject
        keys = [row["slug"], old_subject, _stem(ext)]
        if subject and any(k and row["id"] == _old_id("profile", str(k)) for k in keys):
            new_ids[row["id"]] = subject
        if not _has_front_matter(row["content"]):
            rebuilt = {**row, "subject_uuid": subject}
            change["content"] = _front_matter(rebuilt, ext) + (row["content"] or "")
        if change:
            changes[row["id"]] = change
        row["subject_uuid"] = subject

    profiles = index_profiles(
        {**r, "extensions": _extensions(r["extensions"])}
        for r in rows
        if r["doc_type"] == "profile"
    )
    unresolved = 0
    for row in rows:
        if row["doc_type"] != "post":
            continue
        change = changes.setdefault(row["id"], {})
        if row["slug"]:
            slug = upstream_slug(str(row["slug"]))
            if slug != row["slug"]:
                change["slug"] = slug
            if row["id"] == _old_id("post", str(row["slug"])):
                new_ids[row["id"]] = slug
        if row["authors"]:
            written = [subjects.get(a, a) for a in row["authors"]]
            authors, missing = profiles.resolve_all(written)
            unresolved += len(missing)
            if authors != list(row["authors"]):
                change["authors"] = authors
        if not change:
            del changes[row["id"]]

    # one row per new key: a clash between two of ours keeps the first, the other stays
    taken: dict[str, str] = {}
    for old, new in sorted(new_ids.items()):
        if new == old:
            continue
        if new in taken or new in new_ids or existing.get(new):
            step.comment(f"kept id {old!r}: its new id {new!r} belongs to another document")
            continue
        taken[new] = old
    replaced = sorted(new for new in taken if new in existing)
    step.comment(
        f"{len(taken)} document(s) re-keyed, {len(replaced)} upstream copy(ies) replaced, "
        f"{len(changes)} rewritten, {unresolved} author name(s) naming no profile kept as written"
    )

    by_column: dict[str, tuple[list[str], list[Any]]] = {}
    for old_id, change in sorted(changes.items()):
        for column, value in change.items():
            ids, values = by_column.setdefault(column, ([], []))
            ids.append(old_id)
            values.append(json.dumps(value) if column == "authors" else value)
    old_keys = [taken[new] for new in sorted(taken)]
    # The same statements whatever the rows (the rows travel as parameters), so that
    # `db plan` prints exactly what `db upgrade` runs.
    with lifted_references(step.raw, "documents") as lift:
        step.run(
            "DELETE FROM documents WHERE id IN (SELECT unnest(CAST(? AS VARCHAR[])))", [replaced]
        )
        for column in ("slug", "subject_uuid", "content", "authors"):
            ids, values = by_column.get(column, ([], []))
            step.run(
                f"UPDATE documents SET {column} = {_value_sql(column, step.dialect)} "
                f"FROM ({_PAIRS}) m WHERE documents.id = m.k",
                [ids, values],
            )
        step.run(
            f"UPDATE documents SET id = m.v FROM ({_PAIRS}) m WHERE documents.id = m.k",
            [old_keys, sorted(taken)],
        )
        moved = lift.rekey({taken[new]: new for new in taken})
        step.comment(f"{moved} reference(s) in {', '.join(lift.names) or 'no table'} re-pointed")
    _migrate_pseudonyms(step, author_uuid)


_PAIRS: Final = "SELECT unnest(CAST(? AS VARCHAR[])) AS k, unnest(CAST(? AS VARCHAR[])) AS v"
"""Key/value pairs as parameters (two lists zipped, on DuckDB and PostgreSQL alike)."""


def _value_sql(column: str, dialect: str) -> str:
    if column != "authors":
        return "m.v"
    if dialect == "postgres":  # a list of lists is no PostgreSQL array: each row's as JSON
        return "ARRAY(SELECT json_array_elements_text(CAST(m.v AS JSON)))"
    return "CAST(CAST(m.v AS JSON) AS VARCHAR[])"


def _migrate_pseudonyms(step: DataStep, author_uuid: Any) -> None:
    """Messages whose ``author_uuid`` is the old default pseudonym of their ``author_raw``."""
    present = {"author_raw", "author_uuid"} <= _columns(step, "messages")
    query = "SELECT DISTINCT author_raw FROM messages WHERE author_raw IS NOT NULL"
    raw = [str(r[0]) for r in step.read(query)] if present else []
    old = [_old_pseudonym(n) for n in raw]
    new = [author_uuid(n) for n in raw]
    step.run(
        "UPDATE messages SET author_uuid = m.new_uuid FROM (SELECT "
        "unnest(CAST(? AS VARCHAR[])) AS raw, unnest(CAST(? AS VARCHAR[])) AS old_uuid, "
        "unnest(CAST(? AS VARCHAR[])) AS new_uuid) m "
        "WHERE messages.author_raw = m.raw AND messages.author_uuid = m.old_uuid",
        [raw, old, new],
    )
    step.run(
        "UPDATE messages SET author_uuid = ? WHERE author_raw IS NULL AND author_uuid = ?",
        [author_uuid(SYSTEM_AUTHOR_KEY), _old_pseudonym(SYSTEM_AUTHOR_KEY)],
    )


def upgrade(op: Operations) -> None:
    op.run_python(
        _migrate,
        "documents and messages to upstream Egregora's keys (post: cleaned slug, "
        "profile: subject_uuid), profile contents with front matter, post authors as "
        "subject_uuids, chat pseudonyms uuid5(NAMESPACE_OID, 'whatsapp:' + name)",
    )


def downgrade(op: Operations) -> None:
    """Nothing: the schema is 0001's (restore the automatic backup for the old keys)."""
