"""Upstream Egregora's identity conventions: document ids, chat pseudonyms, post authors.

Egregora (github franklinbaldo/egregora, commit ``1123bf243``) and this project
take turns on one warehouse, so a document or a person must get the *same* key
from both, or the warehouse ends up with two rows for one thing (or messages
that join no profile). Each rule below names the upstream file it follows;
``docs/schema.md`` ("Egregora compatibility") lists them, and
``tests/ingestion/test_identity.py`` pins them as facts.

* **Post ids** (``data_primitives/document.py``, ``Document.document_id``): an
  explicit ``id`` wins; else the post's slug, *cleaned* by upstream's
  ``data_primitives/text.py`` ``slugify`` (:func:`upstream_slug`).
* **Profile ids** (``database/profile_cache.py``): a profile's row id is its
  ``subject_uuid``.
* **Chat pseudonyms** (``input_adapters/whatsapp/parsing.py``):
  ``uuid5(NAMESPACE_OID, "whatsapp:" + author)`` after upstream's line
  rewriting, where that rewriting keeps people apart (:func:`pseudonym_key`);
  a secret namespace (``EGREGORA_AUTHOR_NAMESPACE``) is the opt-in alternative.
* **Post authors** (``database/profile_cache.py`` ``get_profile_posts_from_db``
  finds a person's posts by ``authors.contains(subject_uuid)``): each name a
  post's ``authors`` gives is replaced by the ``subject_uuid`` of the profile
  it names (:class:`ProfileIndex`); a name naming no profile is kept as
  written and reported.
"""

from __future__ import annotations

import html
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

UPSTREAM_AUTHOR_NAMESPACE: Final = uuid.NAMESPACE_OID
"""Namespace of upstream's chat pseudonyms (``parsing.py``: ``anonymize_author(author_key,
uuid.NAMESPACE_OID)``)."""

UPSTREAM_AUTHOR_PREFIX: Final = "whatsapp:"
"""Upstream hashes ``f"{source_identifier}:{author_raw}"`` with ``source_identifier="whatsapp"``."""

UPSTREAM_SLUG_MAX: Final = 60
"""``Document._clean_slug`` calls ``slugify(value, max_len=60)``."""

_TAGS: Final = re.compile(r"</?[^>]*>")
_NOT_SLUG: Final = re.compile(r"[^\w\- ]")


def upstream_slug(text: str) -> str:
    """The slug upstream's ``Document.document_id`` gives a post whose slug is ``text``.

    Upstream's rule (``data_primitives/text.py`` ``slugify`` over
    ``pymdownx.slugs.slugify(case="lower")``, at ``1123bf243``), restated:
    strip the text; NFKD-decompose it and drop every non-ASCII character
    (``"Ação"`` -> ``"Acao"``); drop HTML tags; strip again and lower-case;
    drop every character that is not a letter, digit, ``_``, ``-`` or space;
    turn each space into ``-`` (runs are *not* collapsed: ``"a  b"`` ->
    ``"a--b"``); an empty result becomes ``"post"``; past 60 characters cut
    to 60 and drop trailing dashes.
    """
    ascii_text = unicodedata.normalize("NFKD", text.strip()).encode("ascii", "ignore").decode()
    slug = _TAGS.sub("", ascii_text).strip().lower()
    slug = _NOT_SLUG.sub("", slug).replace(" ", "-")
    slug = slug or "post"
    if len(slug) > UPSTREAM_SLUG_MAX:
        slug = slug[:UPSTREAM_SLUG_MAX].rstrip("-")
    return slug


def _fold_spaces(name: str) -> str:
    """Compatibility spaces (no-break, narrow no-break, ...) as the plain space NFKC makes them.

    iOS writes an unsaved contact as ``"~\\u202fAna"``; upstream's NFKC reads it
    ``"~ Ana"``. Folding a space never merges two people, so it is matched.
    """
    return "".join(
        unicodedata.normalize("NFKC", ch) if unicodedata.category(ch) == "Zs" else ch for ch in name
    )


def pseudonym_key(name: str) -> str:
    """The text whose UUIDv5 (in :data:`UPSTREAM_AUTHOR_NAMESPACE`) is ``name``'s pseudonym.

    ``name`` is the sender as this project stores it in ``author_raw``
    (:func:`.whatsapp.messages.clean_author`: bidi marks dropped, stripped).
    Upstream rewrites each line before it takes the sender
    (``parsing.py`` ``_normalize_text``): an ASCII line is HTML-escaped; any
    other line is NFKC-normalised, its direction marks dropped, phone numbers
    and e-mail addresses replaced by ``<PHONE_REDACTED>`` /
    ``<EMAIL_REDACTED>``, then HTML-escaped. This key follows that where it
    keeps people apart, and differs on purpose where it would not:

    * HTML escaping (``&``, ``<``, ``>``; quotes kept) -- matched: it is
      one-to-one, ``"Tom & Jerry"`` and ``"Tom &amp; Jerry"`` stay two people.
    * Canonical composition (NFC: ``"Jose\\u0301"`` is ``"José"``) and
      compatibility *spaces* -- matched: the same name typed two ways.
    * Other NFKC folds -- **not** matched: ``"𝓐𝓷𝓪"``, ``"Ａｎａ"`` and ``"Ana"``
      are three senders (upstream folds them into one and renames the first
      two ``"Ana"``); such a name keeps its own letters in the key.
    * Redaction -- **not** matched: upstream gives *every* sender whose name
      holds a phone number or address the one pseudonym of
      ``"&lt;PHONE_REDACTED&gt;"`` (and only on non-ASCII lines: the same
      sender gets the unredacted pseudonym on a plain-ASCII line). Here each
      keeps the unredacted one, which is what upstream gives that sender on
      its ASCII lines.
    * Isolate marks (U+2066-U+2069) and control characters -- dropped /
      replaced by ``clean_author`` before this key, where upstream keeps them.
    """
    return UPSTREAM_AUTHOR_PREFIX + html.escape(
        _fold_spaces(unicodedata.normalize("NFC", name)), quote=False
    )


def author_uuid(name: str, namespace: uuid.UUID | None = None) -> str:
    """The stable pseudonym of chat sender ``name`` (as stored in ``author_raw``).

    Without ``namespace``: upstream's, ``uuid5(NAMESPACE_OID, pseudonym_key(name))``,
    so messages join the profiles Egregora writes. With one (the opt-in
    ``EGREGORA_AUTHOR_NAMESPACE``): ``uuid5(namespace, name)``. The trade-off:
    upstream's pseudonym of a known name is computable by anyone who knows
    the name; a namespace kept secret makes pseudonyms unguessable, but then
    Egregora's own profiles (keyed by upstream's formula) join no message.
    """
    if namespace is None:
        return str(uuid.uuid5(UPSTREAM_AUTHOR_NAMESPACE, pseudonym_key(name)))
    return str(uuid.uuid5(namespace, name))


def post_id(slug: str) -> str:
    """``documents.id`` of a post without an explicit ``id``: its cleaned slug."""
    return upstream_slug(slug)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class ProfileIndex:
    """Which ``subject_uuid`` a name in a post's ``authors`` means.

    A profile is named by its ``subject_uuid``, its ``alias``, its name
    (``title``, or the front matter's ``name`` / ``author``) or a slug (its
    file's name, or upstream's slug of any of those names); names compare
    case- and space-insensitively. A name two profiles answer to is
    ambiguous: kept as written and reported, never guessed.
    """

    _uuids: dict[str, str] = field(default_factory=dict)
    _names: dict[str, set[str]] = field(default_factory=dict)
    _slugs: dict[str, set[str]] = field(default_factory=dict)

    def add(self, profile: Mapping[str, Any], stem: str | None = None) -> None:
        """Index one profile (a ``documents`` record or row; ``stem`` its file name)."""
        subject = profile.get("subject_uuid")
        if not isinstance(subject, str) or not subject.strip():
            return
        subject = subject.strip()
        self._uuids[subject.lower()] = subject
        names = [profile.get(k) for k in ("alias", "title", "name", "author")]
        extensions = profile.get("extensions")
        if isinstance(extensions, Mapping):
            names += [extensions.get("name"), extensions.get("author")]
        texts = [n for n in names if isinstance(n, str) and n.strip()]
        for text in texts:
            self._names.setdefault(_norm(text), set()).add(subject)
        slugs: list[object] = [*texts, stem, profile.get("slug")]
        for slug in slugs:
            if isinstance(slug, str) and slug.strip():
                self._slugs.setdefault(upstream_slug(slug), set()).add(subject)

    def resolve(self, written: str) -> tuple[str | None, str | None]:
        """``(subject_uuid, None)``, or ``(None, why)`` when ``written`` names no one profile."""
        text = written.strip()
        if text.lower() in self._uuids:
            return self._uuids[text.lower()], None
        for table in (self._names.get(_norm(text)), self._slugs.get(upstream_slug(text))):
            if table and len(table) == 1:
                return next(iter(table)), None
            if table:
                return None, f"names {len(table)} profiles ({', '.join(sorted(table))})"
        return None, "names no profile"

    def resolve_all(self, authors: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """The authors with each name replaced by its ``subject_uuid``, and the unresolved.

        A UUID that is no profile's ``subject_uuid`` is kept and not reported:
        it already is a pseudonym (its profile may come later). Duplicates that
        resolution creates (``[ana, Ana Lima]``) are kept once.
        """
        resolved: list[str] = []
        unresolved: list[tuple[str, str]] = []
        for written in authors:
            subject, why = self.resolve(written)
            if subject is None:
                subject = written
                if not _is_uuid(written.strip()):
                    unresolved.append((written, why or "names no profile"))
            if subject not in resolved:
                resolved.append(subject)
        return resolved, unresolved


def index_profiles(profiles: Iterable[Mapping[str, Any]]) -> ProfileIndex:
    """A :class:`ProfileIndex` of ``profiles`` (rows with ``extensions`` as JSON text or dict)."""
    import json

    index = ProfileIndex()
    for row in profiles:
        record = dict(row)
        extensions = record.get("extensions")
        if isinstance(extensions, str):
            try:
                record["extensions"] = json.loads(extensions)
            except ValueError:
                record["extensions"] = None
        extensions = record.get("extensions")
        origin = extensions.get("origin") if isinstance(extensions, Mapping) else None
        stem = origin.rsplit("/", 1)[-1].rsplit(".", 1)[0] if isinstance(origin, str) else None
        index.add(record, stem)
    return index
