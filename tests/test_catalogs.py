"""The message catalogs: every word the sources use is in every catalog, translated, with the
same placeholders; adding a language is adding a catalog; the pages a person reads come out
of the catalogs in each language, with no Vietnamese left on an English page."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from sqlalchemy import select

from signing import VerdictCode, parse_stamp
from tests.conftest import Demo
from verifier.i18n.catalogs import CATALOGS, LOCALE_DIR, SOURCE, Catalogs
from verifier.i18n.messages import consumer, scanner_texts
from verifier.provinces import PROVINCES
from verifier.store.models import Authority, Certificate, Lot, Producer, Product

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)(?:[:!][^}]*)?\}")
# Letters only Vietnamese writes (with its tone marks), never English.
VIETNAMESE = re.compile(
    "[ăâđêôơưàảãạáằẳẵặắầẩẫậấèẻẽẹéềểễệếìỉĩịíòỏõọóồổỗộốờởỡợớùủũụúừửữựứỳỷỹỵý]", re.IGNORECASE
)


def _extracted() -> dict[tuple[str | None, str], list[str]]:
    """Every message the sources use, as ``make catalogs`` extracts it (babel.cfg): (context,
    msgid) -> the files that use it."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    found: dict[tuple[str | None, str], list[str]] = {}
    for filename, _line, message, _comments, context in extract_from_dir(
        ROOT / "verifier", method_map, options_map
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((context, msgid), []).append(filename)
    return found


def _catalogs() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))


def _placeholders(text: str) -> list[str]:
    return sorted(a or b for a, b in PLACEHOLDER.findall(text))


def test_the_languages_are_the_source_and_the_catalogs_present() -> None:
    assert CATALOGS.languages == (SOURCE, *(po.parents[1].name for po in _catalogs()))
    assert CATALOGS.languages[:2] == ("vi", "en")


@pytest.mark.parametrize("po", _catalogs(), ids=lambda po: po.parents[1].name)
def test_a_catalog_holds_every_message_translated_with_the_same_placeholders(po: Path) -> None:
    used = _extracted()
    assert len(used) > 300  # the extraction found the sources
    with po.open("rb") as file:
        catalog = read_po(file)
    held = {(m.context, str(m.id)): m for m in catalog if m.id}
    missing = {key: files for key, files in used.items() if key not in held}
    assert missing == {}, "run `make catalogs` and translate the new entries"
    unused = [key for key in held if key not in used]
    assert unused == [], "run `make catalogs`: these are no longer used"
    untranslated = [key for key, m in held.items() if not m.string or m.fuzzy]
    assert untranslated == []
    differing = {
        key: m.string
        for key, m in held.items()
        if _placeholders(key[1]) != _placeholders(str(m.string))
    }
    assert differing == {}
    assert not catalog.fuzzy  # a fuzzy header would hide the catalog's charset


def test_a_placeholder_left_out_of_a_translation_is_caught() -> None:
    assert _placeholders("Khóa cả lô (%(count)s tem)") != _placeholders("Block the batch")
    assert _placeholders("{count} lượt, lần đầu {first}") == _placeholders("{count}, on {first}")
    assert _placeholders("cập nhật {hours:.0f} giờ trước") == ["hours"]


def _throwaway_catalog(directory: Path, language: str, mark: str) -> None:
    """A catalog for ``language``: the English words, each with ``mark`` before it."""
    with (LOCALE_DIR / "en/LC_MESSAGES/messages.po").open("rb") as file:
        english = read_po(file)
    catalog = Catalog(locale=language, project="OCOP stamp")
    for message in english:
        if message.id:
            catalog.add(message.id, f"{mark}{message.string}", context=message.context)
    (directory / language / "LC_MESSAGES").mkdir(parents=True)
    with (directory / language / "LC_MESSAGES/messages.po").open("wb") as file:
        write_po(file, catalog)


def test_adding_a_language_is_adding_a_catalog(
    sqlite_demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(LOCALE_DIR / "en", tmp_path / "en")
    _throwaway_catalog(tmp_path, "ko", "[ko] ")
    loaded = Catalogs.load(tmp_path)
    assert loaded.languages == ("vi", "en", "ko")
    assert loaded.of("ko").gettext("Tem OCOP thật") == "[ko] Genuine OCOP stamp"
    assert loaded.of("xx").gettext("Tem OCOP thật") == "Tem OCOP thật"  # unknown: the source

    monkeypatch.setitem(CATALOGS.translations, "ko", loaded.translations["ko"])
    page = sqlite_demo.client.get(sqlite_demo.sample("genuine"), params={"lang": "ko"})
    assert page.status_code == 200
    assert '<html lang="ko">' in page.text
    assert "[ko] Genuine OCOP stamp" in page.text
    assert 'hreflang="vi"' in page.text
    assert 'hreflang="en"' in page.text
    assert page.cookies.get("lang") == "ko"
    assert 'lang="ko">한국어</a>' in sqlite_demo.client.get("/?lang=vi").text
    answer = sqlite_demo.client.post("/api/v1/verify", json={"code": sqlite_demo.sample("genuine")})
    assert answer.json()["message"]["ko"] == (
        "[ko] Genuine: the product holds a valid OCOP recognition."
    )


class _Text(HTMLParser):
    """The text a person reads on a page and in its attributes (labels, alt texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag in ("script", "style")
        self.parts += [value for name, value in attrs if name in ("aria-label", "alt", "title",
                       "placeholder", "value") and value]  # fmt: skip

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if not self._script:
            self.parts.append(data)


def _read(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def _data_words(demo: Demo) -> list[str]:
    """The registry's own words (names, addresses, reasons): they stay in Vietnamese."""
    with demo.service.sessions() as session:
        words = [
            *session.scalars(select(Product.name)),
            *session.scalars(select(Product.pack_description)),
            *session.scalars(select(Producer.legal_name)),
            *session.scalars(select(Producer.address)),
            *session.scalars(select(Authority.name)),
            *session.scalars(select(Certificate.revocation_reason)),
            *session.scalars(select(Certificate.decision_number)),
            *session.scalars(select(Certificate.revocation_decision)),
        ]
        for lot in session.scalars(select(Lot)):  # what producers declared of their lots
            words += [lot.declared_by, lot.quantity_unit or ""]
            for item in (*lot.origins, *lot.stages, *lot.documents):
                words += [str(v) for k, v in item.items() if isinstance(v, str) and k != "at"]
    words += [p.name for p in PROVINCES.values()]
    return sorted({w for w in words if w}, key=len, reverse=True)


def _vietnamese_left(demo: Demo, page: str) -> list[str]:
    text = _read(page)
    for words in _data_words(demo):
        text = text.replace(words, " ")
    text = text.replace("Tiếng Việt", " ")  # the switch to Vietnamese names it in Vietnamese
    text = text.replace("123/QĐ-UBND", " ")  # an example decision number, as decisions write it
    return sorted({word for word in text.split() if VIETNAMESE.search(word)})


def _signed_in_desk(demo: Demo) -> None:
    token = demo.info["tokens"]["authority_VN-01"]
    assert demo.client.post("/desk/sign-in", data={"token": token}).status_code == 200


def test_the_consumer_pages_read_in_each_language(sqlite_demo: Demo) -> None:
    demo = sqlite_demo
    for sample, url in demo.info["stamp_urls"].items():
        # the Digital Link form keeps its signature in the query: the language is added to it
        vietnamese = demo.client.get(f"{url}{'&' if '?' in url else '?'}lang=vi").text
        english = demo.client.get(f"{url}{'&' if '?' in url else '?'}lang=en").text
        verdict = re.search(r'data-verdict="(\w+)"', english)
        assert verdict is not None, sample
        code = VerdictCode(verdict[1])
        assert consumer(code, "vi")[0] in vietnamese
        assert consumer(code, "en")[0] in english
        assert _vietnamese_left(demo, english) == [], sample
    english = demo.client.get(demo.sample("genuine"), params={"lang": "en"}).text
    assert "Only trust results on the official site" in english
    assert "Valid until" in english
    assert "Chỉ tin kết quả kiểm tra trên trang chính thức" in demo.client.get("/?lang=vi").text


def test_the_scanner_reads_in_each_language(sqlite_demo: Demo) -> None:
    demo = sqlite_demo
    for language, words in (("vi", "Quét tem OCOP"), ("en", "Scan OCOP stamps")):
        page = demo.client.get("/scan", params={"lang": language}).text
        assert f"<h1>{words}</h1>" in page
        config = re.search(r'<script id="ocop-config" type="application/json">(.*?)</script>',
                           page, re.S)  # fmt: skip
        assert config is not None
        assert json.loads(config[1])["texts"] == scanner_texts(language)
    english = demo.client.get("/scan", params={"lang": "en"}).text
    assert _vietnamese_left(demo, english) == []
    texts = json.dumps(scanner_texts("en"), ensure_ascii=False)
    assert not VIETNAMESE.search(texts)


def test_the_desk_reads_in_each_language(sqlite_demo: Demo) -> None:
    demo = sqlite_demo
    _signed_in_desk(demo)
    payload = parse_stamp(demo.sample("genuine")).payload
    demo.client.get(demo.sample("genuine"))  # one check, for the serial's file
    demo.service.recorder.flush()
    for path in ("/desk", f"/desk/serials/{payload.key_index}/{payload.serial}",
                 "/desk?error=not_a_stamp", "/registry", "/registry/ended",
                 "/registry/provinces", "/producer", "/report"):  # fmt: skip
        vietnamese = demo.client.get(path, params={"lang": "vi"}).text
        english = demo.client.get(path, params={"lang": "en"}).text
        assert VIETNAMESE.search(_read(vietnamese)), path
        assert _vietnamese_left(demo, english) == [], path
    desk = demo.client.get("/desk", params={"lang": "en"}).text
    assert "Look up a stamp (QR link, digits or serial 01-000000123)" in desk
    assert "Recognitions expiring within 90 days" in desk
    assert "Tra một tem" in demo.client.get("/desk", params={"lang": "vi"}).text
