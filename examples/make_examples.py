"""Regenerate the synthetic example inputs under ``examples/`` (committed, so ``make run``
needs no generation step). Run: ``.venv/bin/python examples/make_examples.py``.

Everything here is invented: names, messages, images. The images are drawn with
Pillow so the export carries real, decodable attachments (with perceptual hashes).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
CHAT_NAME = "WhatsApp Chat with Egregora Demo"
FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # zip entries get a fixed date so the file is reproducible

CHAT = """\
05/01/2024, 09:00 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.
05/01/2024, 09:00 - Ana Lima created group "Egregora Demo"
05/01/2024, 09:01 - Ana Lima added Bruno Costa
05/01/2024, 09:02 - Ana Lima: Welcome! This group is where we plan the newsletter.
05/01/2024, 09:03 - Bruno Costa: Thanks @Ana Lima. Draft outline:
1. What happened this week
2. Photos from the meetup
3. Next steps
05/01/2024, 09:05 - Bruno Costa: IMG-20240105-WA0001.png (file attached)
Meetup banner
05/01/2024, 09:06 - Ana Lima: IMG-20240105-WA0002.png (file attached)
05/01/2024, 09:07 - Ana Lima: Looks great, see you at 10 <This message was edited>
06/01/2024, 18:30 - Bruno Costa: This message was deleted
06/01/2024, 18:31 - Bruno Costa: Published the post, link in the journal.
13/01/2024, 08:15 - Carla Dias joined using this group's invite link
13/01/2024, 08:16 - Carla Dias: Hi all 👋
"""  # noqa: E501 (a real export line is as long as WhatsApp makes it)


def _image(size: tuple[int, int], background: tuple[int, int, int], label: str) -> bytes:
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.rectangle((width // 8, height // 4, width * 7 // 8, height * 3 // 4), outline="white")
    draw.ellipse((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=(250, 200, 40))
    draw.text((width // 8 + 4, height // 4 + 4), label, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def main() -> None:
    chats = HERE / "whatsapp"
    chats.mkdir(exist_ok=True)
    _write_zip(
        chats / f"{CHAT_NAME}.zip",
        {
            f"{CHAT_NAME}.txt": CHAT.encode("utf-8"),
            "IMG-20240105-WA0001.png": _image((160, 96), (40, 90, 160), "meetup"),
            "IMG-20240105-WA0002.png": _image((96, 96), (30, 140, 90), "photo"),
        },
    )
    media = HERE / "media"
    media.mkdir(exist_ok=True)
    (media / "logo.png").write_bytes(_image((64, 64), (120, 40, 120), "egregora"))


if __name__ == "__main__":
    main()
