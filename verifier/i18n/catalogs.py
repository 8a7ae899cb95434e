"""The message catalogs. Vietnamese is the source language: the msgids are its words, so it has
no catalog. Every other language is one gettext catalog,
``verifier/i18n/locale/<language>/LC_MESSAGES/messages.po``, read with Babel when the service
starts and compiled in memory (a fresh clone needs no build step and no binary files are
committed). Adding a language is adding its catalog: ``pybabel init`` makes one from the
extracted template (see ``make catalogs`` and docs/architecture.md)."""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Language = str
"""A language code: :data:`SOURCE` or the name of a catalog's directory ("en")."""

SOURCE: Final[Language] = "vi"
LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"


def _compiled(po: Path) -> gettext.GNUTranslations:
    """Return the translations of the catalog ``po``; fuzzy entries are left out, as
    ``pybabel compile`` leaves them out."""
    with po.open("rb") as file:
        catalog = read_po(file)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@dataclass(frozen=True, slots=True)
class Catalogs:
    """The translations of each language, the source language first (it translates nothing)."""

    translations: dict[Language, gettext.NullTranslations]

    @classmethod
    def load(cls, directory: Path) -> Catalogs:
        """Return the source language and every catalog found under ``directory``. Raises
        ``OSError`` when a catalog cannot be read, ``babel``'s ``PoFileError`` when one is not
        a valid .po file."""
        found = sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        translations: dict[Language, gettext.NullTranslations] = {
            SOURCE: gettext.NullTranslations()
        }
        translations.update((po.parents[1].name, _compiled(po)) for po in found)
        return cls(translations)

    @property
    def languages(self) -> tuple[Language, ...]:
        """Every language a page can be shown in, the source language first."""
        return tuple(self.translations)

    def of(self, language: Language) -> gettext.NullTranslations:
        """Return the translations of ``language``; the source language's for an unknown one."""
        return self.translations.get(language) or self.translations[SOURCE]


#: The catalogs of this installation: the one place the languages are declared.
CATALOGS: Final = Catalogs.load(LOCALE_DIR)


@cache
def native_name(language: Language) -> str:
    """Return the language's name in itself, as a switch between languages shows it
    ("Tiếng Việt", "English"); its code when the CLDR does not know it."""
    try:
        name = Locale.parse(language).get_display_name(language)
    except (ValueError, UnknownLocaleError):
        return language
    return name or language
