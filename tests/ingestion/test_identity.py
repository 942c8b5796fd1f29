"""Upstream Egregora's identity and content conventions, written down as facts.

Every fact cites upstream's file at commit ``1123bf243`` (github
franklinbaldo/egregora); no upstream code is in this repository. Upstream and
this project take turns on one warehouse: a profile, a post or a person must
get the same key from both, or the warehouse holds two rows for one thing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import frontmatter  # python-frontmatter 1.1.0, the reader upstream's MkDocs adapter uses

from egregora_pipeline.ingestion import ingest
from egregora_pipeline.ingestion.identity import author_uuid, upstream_slug
from egregora_pipeline.settings import Settings
from tests.ingestion.conftest import ChatRun, rows

UPSTREAM = "1123bf243"


def upstream_pseudonym(author_raw: str) -> str:
    """``input_adapters/whatsapp/parsing.py`` (1123bf243): ``MessageBuilder._finalize_message``
    hashes ``f"{source_identifier}:{author_raw}"`` with ``source_identifier="whatsapp"`` by
    ``anonymize_author(key, uuid.NAMESPACE_OID)`` = ``str(uuid.uuid5(namespace, key))``."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "whatsapp:" + author_raw))


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PROFILE = """---
title: Bruno Costa
author: Bruno Costa
alias: bruno
opt-out: true
interests: [writing]
---
Bruno writes most of the drafts.
"""


def test_a_profile_row_is_keyed_by_subject_uuid_and_holds_the_whole_file(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    # database/profile_cache.py scan_and_cache_profiles: row "id": author_uuid (the
    # subject_uuid), "content": the file as read; get_profile_from_db returns that content
    # and output_sinks/mkdocs/adapter.py reads it with frontmatter.loads(content);
    # get_opted_out_authors_from_db looks for "opt-out: true" in content.lower().
    _write(tmp_path, "profiles/bruno-costa.md", PROFILE)
    ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    (profile,) = rows(warehouse, "SELECT * FROM documents WHERE doc_type = 'profile'")
    assert profile["subject_uuid"] == upstream_pseudonym("Bruno Costa")
    assert profile["id"] == profile["subject_uuid"]
    assert profile["content"] == PROFILE
    read_back = frontmatter.loads(profile["content"])
    assert read_back.metadata["opt-out"] is True
    assert read_back.metadata["alias"] == "bruno"
    assert read_back.content == "Bruno writes most of the drafts."
    assert "opt-out: true" in profile["content"].lower()


def test_an_explicit_subject_uuid_keys_the_profile(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    subject = "7b0c2f0e-0d5a-4d7e-9a61-3b1f2c4d5e6f"
    _write(tmp_path, "profiles/x.md", f"---\ntitle: X\nsubject_uuid: {subject}\n---\nBio\n")
    ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    assert rows(warehouse, "SELECT id, subject_uuid FROM documents") == [
        {"id": subject, "subject_uuid": subject}
    ]


def test_upstream_slug_cleaning() -> None:
    # data_primitives/document.py Document._clean_slug: slugify(value.strip(), max_len=60);
    # data_primitives/text.py slugify: NFKD, ASCII only, then pymdownx.slugs.slugify
    # (case="lower", 10.20.1 in upstream's uv.lock): strip HTML tags, lower, keep
    # [\w\- ], each space -> "-"; "" -> "post"; over 60: cut, trailing "-" dropped.
    assert upstream_slug("Hello, World!") == "hello-world"
    assert upstream_slug("  Ação & Reação  ") == "acao--reacao"
    assert upstream_slug("a  b") == "a--b"
    assert upstream_slug("<b>Bold</b> move") == "bold-move"
    assert upstream_slug("snake_case-ok") == "snake_case-ok"
    assert upstream_slug("!!!") == "post"
    assert upstream_slug("日本語") == "post"
    long = "word " * 20
    assert upstream_slug(long) == ("word-" * 12).rstrip("-")
    assert len(upstream_slug(long)) <= 60


def test_an_id_less_post_is_keyed_by_its_cleaned_slug_and_an_explicit_id_wins(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    # Document.document_id: 1. explicit id; 2. for a POST, the cleaned metadata slug.
    _write(tmp_path, "posts/one.md", "---\ntitle: One\nslug: Meetup Recap, January!\n---\nx\n")
    _write(tmp_path, "posts/Second Post.md", "---\ntitle: Two\n---\ny\n")
    _write(tmp_path, "posts/three.md", "---\ntitle: Three\nid: my-own-id\n---\nz\n")
    ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    assert rows(warehouse, "SELECT id, slug FROM documents ORDER BY title") == [
        {"id": "meetup-recap-january", "slug": "meetup-recap-january"},
        {"id": "my-own-id", "slug": "three"},
        {"id": "second-post", "slug": "second-post"},
    ]


ANA = "---\ntitle: Ana Lima\nauthor: Ana Lima\nalias: ana\n---\nAna.\n"


def test_post_authors_name_profiles_by_alias_name_slug_or_uuid_in_the_same_batch(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    # database/profile_cache.py get_profile_posts_from_db(author_uuid): posts whose
    # authors.contains(author_uuid): authors must hold subject_uuids.
    ana = upstream_pseudonym("Ana Lima")
    bruno = upstream_pseudonym("Bruno Costa")
    # the post is read before the profiles it names (posts/ sorts before profiles/)
    _write(
        tmp_path,
        "a-posts/p.md",
        "---\ndoc_type: post\ntitle: P\n"
        f"authors: [ana, Bruno Costa, ANA LIMA, {bruno}, Nobody Known]\n---\nx\n",
    )
    _write(tmp_path, "profiles/ana-lima.md", ANA)
    _write(tmp_path, "profiles/bruno-costa.md", PROFILE)
    report = ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    (post,) = rows(warehouse, "SELECT authors FROM documents WHERE doc_type = 'post'")
    assert post["authors"] == [ana, bruno, "Nobody Known"]
    (source,) = report.unresolved_authors
    assert source.endswith("p.md")
    assert report.unresolved_authors[source] == ["Nobody Known: names no profile"]


def test_post_authors_name_profiles_already_stored_and_later_ones_link_on_reingest(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    profiles, posts = tmp_path / "profiles", tmp_path / "posts"
    _write(profiles, "profiles/ana-lima.md", ANA)
    ingest(warehouse, [profiles], settings=settings, run_id="1")
    post = _write(posts, "posts/p.md", "---\ntitle: P\nauthors: [ana-lima, bruno]\n---\nx\n")
    first = ingest(warehouse, [post], settings=settings, run_id="2")
    assert first.unresolved_authors == {str(post): ["bruno: names no profile"]}
    stored = rows(warehouse, "SELECT authors FROM documents WHERE doc_type = 'post'")
    assert stored == [{"authors": [upstream_pseudonym("Ana Lima"), "bruno"]}]
    # Bruno's profile arrives; the unchanged post, ingested again, now links him
    _write(profiles, "profiles/bruno-costa.md", PROFILE)
    ingest(warehouse, [profiles], settings=settings, run_id="3")
    again = ingest(warehouse, [post], settings=settings, run_id="4")
    assert again.unresolved_authors == {}
    assert again.documents_updated == 1
    stored = rows(warehouse, "SELECT authors FROM documents WHERE doc_type = 'post'")
    assert stored == [
        {"authors": [upstream_pseudonym("Ana Lima"), upstream_pseudonym("Bruno Costa")]}
    ]
    assert ingest(warehouse, [post], settings=settings, run_id="5").documents_skipped == 1


def test_a_name_two_profiles_answer_to_is_reported_not_guessed(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    _write(tmp_path, "profiles/a.md", "---\ntitle: Ana Lima\nauthor: Ana Lima\nalias: ana\n---\n")
    _write(tmp_path, "profiles/b.md", "---\ntitle: Ana Souza\nauthor: Ana Souza\nalias: ana\n---\n")
    _write(tmp_path, "posts/p.md", "---\ntitle: P\nauthors: [ana]\n---\nx\n")
    report = ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    (reasons,) = report.unresolved_authors.values()
    assert reasons[0].startswith("ana: names 2 profiles")
    assert rows(warehouse, "SELECT authors FROM documents WHERE doc_type = 'post'") == [
        {"authors": ["ana"]}
    ]


CHAT = (
    "12/01/2024, 09:00 - Ana Lima: bom dia\n"
    "12/01/2024, 09:01 - Tom & Jerry: <hi>\n"
    "12/01/2024, 09:02 - José Ávila: olá 😀\n"
    "12/01/2024, 09:03 - \u202a+55 11 98765-4321\u202c: oi\n"
    "12/01/2024, 09:04 - \u202a+55 21 91234-5678\u202c: oi 😀\n"
    "12/01/2024, 09:05 - ~\u202fBeto: oi\n"
    "12/01/2024, 09:06 - 𝓐𝓷𝓪: oi\n"
)


def test_chat_pseudonyms_are_upstreams_where_its_rewriting_keeps_people_apart(
    ingest_chat: ChatRun,
) -> None:
    run = ingest_chat(CHAT)
    pseudonyms = {m["author_raw"]: m["author_uuid"] for m in run.messages}
    # parsing.py _normalize_text: an ASCII line is html.escape(line, quote=False)
    assert pseudonyms["Ana Lima"] == upstream_pseudonym("Ana Lima")
    assert pseudonyms["Tom & Jerry"] == upstream_pseudonym("Tom &amp; Jerry")
    # a non-ASCII line is NFKC-normalised first: a composed name is unchanged by it
    assert pseudonyms["José Ávila"] == upstream_pseudonym("José Ávila")
    # iOS's narrow no-break space after "~" becomes a plain space under NFKC
    assert pseudonyms["~\u202fBeto"] == upstream_pseudonym("~ Beto")
    # direction marks: dropped (by upstream on the non-ASCII line, here from every name)
    assert pseudonyms["+55 11 98765-4321"] == upstream_pseudonym("+55 11 98765-4321")


def test_chat_pseudonyms_differ_on_purpose_where_upstream_would_merge_or_rename(
    ingest_chat: ChatRun,
) -> None:
    run = ingest_chat(CHAT)
    pseudonyms = {m["author_raw"]: m["author_uuid"] for m in run.messages}
    # Upstream scrubs phone numbers on non-ASCII lines (security/pii.py PHONE_PATTERN,
    # "<PHONE_REDACTED>", then HTML-escaped): both phone senders would be one person.
    redacted = upstream_pseudonym("&lt;PHONE_REDACTED&gt;")
    phones = [pseudonyms["+55 11 98765-4321"], pseudonyms["+55 21 91234-5678"]]
    assert redacted not in phones
    assert len(set(phones)) == 2
    # ... each keeps the pseudonym upstream gives that sender on a line it does not
    # redact (a line of plain ASCII: the marks make an Android phone line non-ASCII)
    assert phones[1] == upstream_pseudonym("+55 21 91234-5678")
    # NFKC would fold "𝓐𝓷𝓪" into "Ana" (a different sender): it keeps its own letters
    assert pseudonyms["𝓐𝓷𝓪"] == upstream_pseudonym("𝓐𝓷𝓪")
    assert pseudonyms["𝓐𝓷𝓪"] != upstream_pseudonym("Ana")


def test_a_salted_namespace_is_an_opt_in(ingest_chat: ChatRun, settings: Settings) -> None:
    salt = uuid.UUID("1f6c5a52-8a57-4a4b-9d9f-0d2e0c3b7a11")
    run = ingest_chat(
        CHAT,
        settings_override=Settings.from_env(
            {}, database=settings.database, author_namespace=salt, timezone="UTC"
        ),
    )
    pseudonyms = {m["author_raw"]: m["author_uuid"] for m in run.messages}
    assert pseudonyms["Ana Lima"] == str(uuid.uuid5(salt, "Ana Lima"))
    assert pseudonyms["Ana Lima"] == author_uuid("Ana Lima", salt)
    assert Settings.from_env({}).author_namespace is None  # the default: upstream's


def test_a_profile_joins_its_persons_chat_messages(
    warehouse: duckdb.DuckDBPyConnection, settings: Settings, tmp_path: Path
) -> None:
    _write(tmp_path, "profiles/ana-lima.md", ANA)
    _write(tmp_path, "chat/WhatsApp Chat with G.txt", CHAT)
    ingest(warehouse, [tmp_path], settings=settings, run_id="r")
    joined = rows(
        warehouse,
        "SELECT m.author_raw FROM messages m JOIN documents d "
        "ON d.doc_type = 'profile' AND d.subject_uuid = m.author_uuid",
    )
    assert joined == [{"author_raw": "Ana Lima"}]
