"""Message bodies: multi-line text, system lines, attachments, omitted media, deleted,
edited and mentions -- in the languages WhatsApp exports them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.ingestion.conftest import ChatRun

H = "31/12/2019, 23:59 - "
IOS = "[31/12/2019, 23:59:59] "


def _attrs(message: dict[str, object]) -> dict[str, object]:
    return json.loads(str(message["attrs"]))


def test_multi_line_message_keeps_a_date_like_continuation_line(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        f"{H}Ana: plan for tomorrow\n31/12/2019 is the deadline\n"
        "31/12/2019, 23:59 was when it started\n"
        "[31/12/2019, 23:59:59] Quoted iOS line: pasted\n"
        f"{H}Bob: ok\n"
    )
    assert [m["text"] for m in run.messages] == [
        "plan for tomorrow\n31/12/2019 is the deadline\n31/12/2019, 23:59 was when it started\n"
        "[31/12/2019, 23:59:59] Quoted iOS line: pasted",
        "ok",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
        "WhatsApp, can read or listen to them. Tap to learn more.",
        'Ana created group "Family"',
        "Ana added Bob",
        "Bob left",
        'Ana changed the subject from "Old: name" to "New"',
        'Ana changed the subject from "Old" to "New: name"',
        "Ana hat die Gruppe \u201eReise: Lissabon\u201c erstellt",
        "Ana a créé le groupe « Voyage : Lisbonne »",
        "\u200eIuri Brasil foi adicionado(a)",
    ],
)
def test_android_system_lines_have_no_author_and_are_not_glued(
    ingest_chat: Callable[..., ChatRun], line: str
) -> None:
    run = ingest_chat(f"{H}Ana: before\n{H}{line}\n{H}Ana: after\n")
    before, system, after = run.messages
    assert system["author_raw"] is None
    assert _attrs(system)["kind"] == "system"
    assert system["text"] == line.lstrip("\u200e")
    assert before["text"] == "before"
    assert after["text"] == "after"


@pytest.mark.parametrize(
    "name", ['Ana "Nina" Silva', "Bob \u201cBobby\u201d Jones", "Zé «Zézinho»"]
)
def test_a_name_with_a_quoted_nickname_is_still_the_author(
    ingest_chat: Callable[..., ChatRun], name: str
) -> None:
    run = ingest_chat(f"{H}{name}: hi there\n")
    (message,) = run.messages
    assert message["author_raw"] == name
    assert message["text"] == "hi there"
    assert _attrs(message)["kind"] == "text"


def test_ios_system_lines_carrying_the_group_name_have_no_author(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        f"{IOS}Family: \u200eMessages and calls are end-to-end encrypted.\n"
        f"{IOS}Family: \u200eAna created group “Family”\n"
        f"\u200e{IOS}Ana: \u200eimage omitted\n"
        f"{IOS}Ana: hello\n"
    )
    kinds = [(_attrs(m)["kind"], m["author_raw"]) for m in run.messages]
    assert kinds == [
        ("system", None),
        ("system", None),
        ("media_omitted", "Ana"),
        ("text", "Ana"),
    ]


def test_system_author_uuid_is_stable_and_distinct_from_people(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(f"{H}Ana added Bob\n{H}Bob left\n{H}Ana: hi\n")
    first, second, person = run.messages
    assert first["author_uuid"] == second["author_uuid"] != person["author_uuid"]


@pytest.mark.parametrize(
    ("body", "filename", "media_type"),
    [
        ("IMG-20190101-WA0001.jpg (file attached)", "IMG-20190101-WA0001.jpg", "image"),
        ("\u200eIMG-20251028-WA0035.jpg (arquivo anexado)", "IMG-20251028-WA0035.jpg", "image"),
        ("VID-20190101-WA0002.mp4 (archivo adjunto)", "VID-20190101-WA0002.mp4", "video"),
        ("PTT-20190101-WA0003.opus (Datei angehängt)", "PTT-20190101-WA0003.opus", "audio"),
        ("DOC-20190101-WA0004.pdf (fichier joint)", "DOC-20190101-WA0004.pdf", "document"),
        ("STK-20190101-WA0005.webp (file allegato)", "STK-20190101-WA0005.webp", "image"),
        (
            "\u200e<attached: 00000012-PHOTO-2019-12-31-23-59-59.jpg>",
            "00000012-PHOTO-2019-12-31-23-59-59.jpg",
            "image",
        ),
    ],
)
def test_attachments_in_both_shapes_and_many_languages(
    ingest_chat: Callable[..., ChatRun], body: str, filename: str, media_type: str
) -> None:
    run = ingest_chat(f"{H}Ana: {body}\n")
    (message,) = run.messages
    assert message["media_url"] == filename
    assert message["media_type"] == media_type
    attrs = _attrs(message)
    assert attrs["kind"] == "media"
    assert attrs["attachment"] == filename
    assert attrs["attachment_missing"] is True
    (entry,) = run.report.inputs
    assert entry.error is None
    assert [r.raw for r in entry.rejections] == [filename]
    assert "missing" in entry.rejections[0].reason


@pytest.mark.parametrize(
    "body",
    [
        "<Media omitted>",
        "<Mídia oculta>",
        "image omitted",
        "\u200evideo omitted",
        "<Video note omitted>",
        "<View once voice message omitted>",
    ],
)
def test_media_omitted_variants_are_flagged(ingest_chat: Callable[..., ChatRun], body: str) -> None:
    (message,) = ingest_chat(f"{H}Ana: {body}\n").messages
    assert _attrs(message)["kind"] == "media_omitted"
    assert message["media_url"] is None


@pytest.mark.parametrize(
    "body",
    [
        "This message was deleted",
        "You deleted this message",
        "Mensagem apagada",
        "Este mensaje fue eliminado.",
    ],
)
def test_deleted_messages_are_flagged(ingest_chat: Callable[..., ChatRun], body: str) -> None:
    (message,) = ingest_chat(f"{H}Ana: {body}\n").messages
    assert _attrs(message)["kind"] == "deleted"
    assert message["author_raw"] == "Ana"


def test_ios_documents_with_name_and_size_before_the_marker_belong_to_their_author(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        f"{IOS}Bob: \u200eReport.pdf \u2022 \u200e2 pages \u200e<attached: 00000003-Report.pdf>\n"
        f"{IOS}Bob: \u200eSlides.pdf \u2022 \u200e3 pages \u200edocument omitted\n"
    )
    attached, omitted = run.messages
    assert attached["author_raw"] == omitted["author_raw"] == "Bob"
    assert _attrs(attached)["kind"] == "media"
    assert attached["media_url"] == "00000003-Report.pdf"
    assert attached["media_type"] == "document"
    assert _attrs(omitted)["kind"] == "media_omitted"


def test_an_ordinary_message_mentioning_omitted_is_text(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    (message,) = ingest_chat(f"{H}Ana: nothing was omitted, see <notes> \u2022 ok\n").messages
    assert _attrs(message)["kind"] == "text"


def test_edited_marker_is_flagged_and_removed_from_text(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    (message,) = ingest_chat(f"{H}Ana: see you at 8 <This message was edited>\n").messages
    assert message["text"] == "see you at 8"
    assert _attrs(message) == {"kind": "text", "edited": True}


def test_mentions_by_name_phone_and_isolated_full_name(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    (message,) = ingest_chat(
        f"{H}Ana: @Bob and @+55 11 91234-5678 and @\u2068Eurico Max\u2069, mail a@b.com\n"
    ).messages
    assert _attrs(message)["mentions"] == ["Bob", "+55 11 91234-5678", "Eurico Max"]


def test_empty_message_keeps_its_author(ingest_chat: Callable[..., ChatRun]) -> None:
    (message,) = ingest_chat(f"{H}Franklin: \n").messages
    assert message["author_raw"] == "Franklin"
    assert message["text"] == ""


def test_blank_lines_between_messages_are_not_kept_at_the_end_of_a_text(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(f"{H}Ana: para1\n\npara2\n\n\n{H}Bob: next\n")
    assert [m["text"] for m in run.messages] == ["para1\n\npara2", "next"]


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("2016-03-12-PHOTO-00000019.jpg \u2039attached>", "2016-03-12-PHOTO-00000019.jpg"),
        ("IMG_0001.JPG <\u200eattached>", "IMG_0001.JPG"),
        (
            "< attached: 00000042-PHOTO-2020-06-07-15-13-20.jpg >",
            "00000042-PHOTO-2020-06-07-15-13-20.jpg",
        ),
    ],
)
def test_older_ios_attachment_markers_are_attachments(
    ingest_chat: Callable[..., ChatRun], body: str, name: str
) -> None:
    run = ingest_chat(f"{IOS}Ana: {body}\n")
    (message,) = run.messages
    attrs = _attrs(message)
    assert attrs["kind"] == "media"
    assert attrs["attachment"] == name
    assert message["media_type"] == "image"


@pytest.mark.parametrize("header", [H, IOS])
@pytest.mark.parametrize("mark", ["", "\u200e"])
def test_the_encryption_notice_is_a_system_line_even_with_a_sender(
    ingest_chat: Callable[..., ChatRun], header: str, mark: str
) -> None:
    notice = (
        "Messages and calls are end-to-end encrypted. No one outside of this chat, "
        "not even WhatsApp, can read or listen to them."
    )
    run = ingest_chat(f"{header}Pokemon Chat: {mark}{notice}\n{header}Ash: Hey guys!\n")
    system, text = run.messages
    assert system["author_raw"] is None
    assert _attrs(system)["kind"] == "system"
    assert system["text"] == notice
    assert text["author_raw"] == "Ash"


def test_a_message_quoting_the_notice_mid_text_stays_a_message(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(f"{H}Ana: they say Messages and calls are end-to-end encrypted\n")
    assert run.messages[0]["author_raw"] == "Ana"


def test_a_person_who_starts_a_message_with_the_notice_keeps_it_and_their_name(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    """Only a "sender" that wrote nothing but the notice (the group's name) is a system line."""
    run = ingest_chat(
        f"{H}Bob: Messages and calls are end-to-end encrypted, so tell me everything\n{H}Bob: ok\n"
    )
    first, _ = run.messages
    assert first["author_raw"] == "Bob"
    assert _attrs(first)["kind"] == "text"


def test_an_author_name_of_a_few_hundred_characters_stays_an_author(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    name = "Ana " + "Maria " * 60  # 364 characters
    run = ingest_chat(f"{H}{name.strip()}: hello\n")
    (message,) = run.messages
    assert message["author_raw"] == name.strip()
    assert _attrs(message)["kind"] == "text"


def test_control_characters_in_names_become_replacement_marks_never_the_system_key(
    ingest_chat: Callable[..., ChatRun],
) -> None:
    run = ingest_chat(
        f"{H}\x00whatsapp-system: I am not the system\n{H}Bo\x07b\x1b[31m: bell\n{H}joined\n"
    )
    impostor, bell, system = run.messages
    assert impostor["author_raw"] == "\ufffdwhatsapp-system"
    assert bell["author_raw"] == "Bo\ufffdb\ufffd[31m"
    assert system["author_raw"] is None
    assert impostor["author_uuid"] != system["author_uuid"]
