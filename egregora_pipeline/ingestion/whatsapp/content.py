"""What a message body *is*: system line, attachment, omitted media, deleted, edited, mentions.

Exports state these facts in the phone's language, so each is a closed list of
phrases (extend a tuple to support a new language). The lists are turned into
RE2 patterns that DuckDB runs over all messages at once; :func:`media_type_for`
is the same extension table the media reader uses.
"""

from __future__ import annotations

from typing import Final

from egregora_pipeline.ingestion.whatsapp.formats import MARKS_CLASS

ATTACHED_PHRASES: Final = (
    "file attached",
    "arquivo anexado",
    "ficheiro anexado",
    "archivo adjunto",
    "Datei angehängt",
    "fichier joint",
    "file allegato",
    "bestand bijgevoegd",
    "dosya ekli",
    "plik załączony",
    "fil bifogad",
    "файл прикреплен",
)
"""Android: ``IMG-20190101-WA0001.jpg (file attached)``."""

MEDIA_OMITTED_PHRASES: Final = (
    "<Media omitted>",
    "<Mídia oculta>",
    "<Multimédia omitido>",
    "<Multimedia omitido>",
    "<Archivo omitido>",
    "<Medien ausgeschlossen>",
    "<Médias omis>",
    "<Media omessi>",
    "<Media weggelaten>",
    "<Medya dahil edilmedi>",
    "image omitted",
    "video omitted",
    "audio omitted",
    "sticker omitted",
    "GIF omitted",
    "document omitted",
    "Contact card omitted",
    "imagem ocultada",
    "vídeo ocultado",
    "áudio ocultado",
    "figurinha omitida",
    "documento ocultado",
    "imagen omitida",
    "video omitido",
    "audio omitido",
    "sticker omitido",
    "Bild weggelassen",
    "Video weggelassen",
    "Audio weggelassen",
    "image absente",
    "vidéo absente",
    "immagine omessa",
)

DELETED_PHRASES: Final = (
    "This message was deleted",
    "You deleted this message",
    "Mensagem apagada",
    "Esta mensagem foi apagada",
    "Você apagou esta mensagem",
    "Se eliminó este mensaje",
    "Este mensaje fue eliminado",
    "Eliminaste este mensaje",
    "Diese Nachricht wurde gelöscht",
    "Du hast diese Nachricht gelöscht",
    "Ce message a été supprimé",
    "Vous avez supprimé ce message",
    "Questo messaggio è stato eliminato",
    "Hai eliminato questo messaggio",
)

EDITED_PHRASES: Final = (
    "This message was edited",
    "Mensagem editada",
    "Mensaje editado",
    "Diese Nachricht wurde bearbeitet",
    "Ce message a été modifié",
    "Questo messaggio è stato modificato",
)
"""Appended to the text as ``<This message was edited>``; removed from ``text``."""

MEDIA_TYPE_BY_EXTENSION: Final[dict[str, str]] = {
    **dict.fromkeys(
        ("jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "bmp", "tif", "tiff"), "image"
    ),
    **dict.fromkeys(("mp4", "3gp", "mov", "avi", "mkv", "webm", "m4v", "mpeg", "mpg"), "video"),
    **dict.fromkeys(("opus", "ogg", "mp3", "m4a", "aac", "wav", "amr", "flac", "oga"), "audio"),
    **dict.fromkeys(
        ("pdf", "vcf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv", "zip", "odt"),
        "document",
    ),
}
"""Extension to ``media_type``; anything else is a ``document`` (see schema.rules.MEDIA_TYPES)."""


def media_type_for(filename: str) -> str:
    """``image``/``video``/``audio``/``document`` from a file name's extension."""
    _, _, ext = filename.rpartition(".")
    return MEDIA_TYPE_BY_EXTENSION.get(ext.lower(), "document")


_RE2_SPECIAL: Final = frozenset("\\.^$|?*+()[]{}-")


def _literal(text: str) -> str:
    """Escape regex metacharacters only (``re.escape`` also escapes spaces, which RE2 rejects)."""
    return "".join("\\" + ch if ch in _RE2_SPECIAL else ch for ch in text)


def _alternatives(phrases: tuple[str, ...]) -> str:
    return "|".join(_literal(p) for p in phrases)


ATTACHED_PATTERN: Final = (
    rf"^([^\n]+?\.[A-Za-z0-9]{{1,6}})(?: •[^\n]*?)? \((?:{_alternatives(ATTACHED_PHRASES)})\)"
)
"""Group 1 is the file name of an Android attachment line."""

DOCUMENT_CAPTION: Final = rf"(?:[^<\n]{{1,200}} • [^<\n]{{0,60}} {MARKS_CLASS}*)?"
"""iOS puts a document's name and size before its marker:
``Report.pdf • 2 pages <attached: 00000003-Report.pdf>`` or ``... document omitted``."""

IOS_ATTACHED_PATTERN: Final = (
    rf"^{DOCUMENT_CAPTION}< ?[^<>:\n]{{1,40}}: ?([^<>\n]+?\.[A-Za-z0-9]{{1,6}}) ?>"
)
"""Group 1 is the file name of an iOS ``<attached: 00000012-PHOTO-....jpg>`` (also
written ``< attached: ... >``, as whatsapp-chat-parser's tests do)."""

OLD_IOS_ATTACHED_PATTERN: Final = (
    rf"^([^<>\n]+?\.[A-Za-z0-9]{{1,6}}) {MARKS_CLASS}*[<\x{{2039}}]{MARKS_CLASS}*attached>$"
)
"""Group 1 is the file name of an iOS export of about 2015-2017:
``2016-03-12-PHOTO-00000019.jpg <‎attached>``, or with the single angle
quotation mark U+2039 ``... ‹attached>``."""

E2E_NOTICE_PATTERN: Final = (
    rf"^{MARKS_CLASS}*(?:Messages and calls are end-to-end encrypted"
    r"|Messages to this (?:group|chat) are now secured with end-to-end encryption"
    r"|Messages you send to this (?:group|chat) are now secured with end-to-end encryption"
    r"|As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta"
    r"|Las llamadas y los mensajes están cifrados de extremo a extremo"
    r"|Los mensajes y las llamadas están cifrados de extremo a extremo"
    r"|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt"
    r"|Les messages et les appels sont chiffrés de bout en bout"
    r"|I messaggi e le chiamate sono crittografati end-to-end)"
)
"""The end-to-end-encryption notice. WhatsApp writes it as a system line, but some
exports put the group's name in front of it (``Pokemon Chat: Messages and calls
are end-to-end encrypted...``, without U+200E): it is a system line all the same."""

E2E_MAX_BYTES: Final = 400
"""Longer bodies are not the notice (a guard: the pattern decides)."""

ANY_OMITTED_PATTERN: Final = r"^<[^<>\n]{1,40} omitted>$"
"""Android spells newer kinds in the same shape (``<Video note omitted>``,
``<View once voice message omitted>``), so any ``<... omitted>`` is one."""

OMITTED_MAX_BYTES: Final = 2 * max(len(p.encode()) for p in MEDIA_OMITTED_PHRASES)
DELETED_MAX_BYTES: Final = 2 * max(len(p.encode()) for p in DELETED_PHRASES) + 1
"""Byte lengths above which a body cannot be an omitted/deleted marker (twice the
longest phrase: case-insensitive matching may pair letters of different UTF-8
widths). A guard only: the anchored patterns decide; ``strlen`` is O(1) where
``length`` counts every character of every message."""

OMITTED_PATTERN: Final = rf"(?i)^(?:{_alternatives(MEDIA_OMITTED_PHRASES)})$"
CAPTIONED_OMITTED_PATTERN: Final = (
    rf"(?i)^{DOCUMENT_CAPTION}(?:{_alternatives(MEDIA_OMITTED_PHRASES)})$"
)
"""Each omitted-media test is guarded separately in SQL (a byte length, a leading
``<``, a `` • ``): one pattern with the optional caption in front cost more than
the rest of the classification together."""
DELETED_PATTERN: Final = rf"(?i)^(?:{_alternatives(DELETED_PHRASES)})\.?$"
EDITED_PATTERN: Final = rf"\s*{MARKS_CLASS}*<(?:{_alternatives(EDITED_PHRASES)})>\s*$"
MENTION_PATTERN: Final = (
    r"(?:^|\s)@(?:\x{2068}[^\x{2069}\n]+\x{2069}|\+\d[\d \-]{5,}\d|[\p{L}\p{N}_.]+)"
)
"""A mention: ``@Name``, ``@+55 11 91234-5678``, or Android's isolated ``@\u2068Full Name\u2069``.
Requires start or whitespace before ``@`` so e-mail addresses are not mentions."""

QUOTE_MARKS: Final = '"“”„«»'
"""Double quotation marks of the languages we read (English, German „…“, French « … »).

The author is the text before the first ``": "``; when that text holds an
*odd* number of these marks, the colon sits inside a quotation -- a system
line quoting a group subject (``Ana changed the subject to "Trip: 2020"``,
``Ana hat die Gruppe „Reise: Lissabon“ erstellt``) -- so there is no author.
An even number is a name with a nickname (``Ana "Nina" Silva``)."""

MAX_AUTHOR_CHARS: Final = 500
"""A name may be a few hundred characters (a contact saved with a long label);
the limit only stops a long first line with a colon in it from becoming a name."""
