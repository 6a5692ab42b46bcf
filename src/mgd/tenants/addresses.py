"""Spanish postal addresses: a postcode's province (its first two digits), and a province name checked against
it. Used by the records import and the billing address form."""

from __future__ import annotations

import re
import unicodedata

from mgd.identifiers import InvalidIdentifier, to_ascii

#: Province by the first two digits of its postcodes (INE codes), in its official name.
PROVINCES = {
    "01": "Araba/Álava", "02": "Albacete", "03": "Alicante/Alacant", "04": "Almería", "05": "Ávila",
    "06": "Badajoz", "07": "Illes Balears", "08": "Barcelona", "09": "Burgos", "10": "Cáceres", "11": "Cádiz",
    "12": "Castellón/Castelló", "13": "Ciudad Real", "14": "Córdoba", "15": "A Coruña", "16": "Cuenca",
    "17": "Girona", "18": "Granada", "19": "Guadalajara", "20": "Gipuzkoa", "21": "Huelva", "22": "Huesca",
    "23": "Jaén", "24": "León", "25": "Lleida", "26": "La Rioja", "27": "Lugo", "28": "Madrid",
    "29": "Málaga", "30": "Murcia", "31": "Navarra", "32": "Ourense", "33": "Asturias", "34": "Palencia",
    "35": "Las Palmas", "36": "Pontevedra", "37": "Salamanca", "38": "Santa Cruz de Tenerife",
    "39": "Cantabria", "40": "Segovia", "41": "Sevilla", "42": "Soria", "43": "Tarragona", "44": "Teruel",
    "45": "Toledo", "46": "Valencia/València", "47": "Valladolid", "48": "Bizkaia", "49": "Zamora",
    "50": "Zaragoza", "51": "Ceuta", "52": "Melilla",
}  # fmt: skip
# Other names people write for a province (folded as ``_fold`` does).
_ALSO = {
    "alava": "01", "baleares": "07", "islas baleares": "07", "balears": "07", "la coruna": "15",
    "coruna": "15", "guipuzcoa": "20", "gerona": "17", "lerida": "25", "orense": "32", "vizcaya": "48",
    "principado de asturias": "33", "comunidad de madrid": "28", "region de murcia": "30",
    "comunidad foral de navarra": "31", "nafarroa": "31", "tenerife": "38", "rioja": "26",
}  # fmt: skip
_POSTCODE = re.compile(r"[0-9]{5}")


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


_BY_NAME = {_fold(part): code for code, name in PROVINCES.items() for part in [name, *name.split("/")]}
_BY_NAME.update(_ALSO)


def normalize_postcode(raw: str) -> str:
    """A Spanish postcode: five digits whose first two name a province (01–52)."""
    compact = to_ascii((raw or "").strip())
    if not _POSTCODE.fullmatch(compact):
        raise InvalidIdentifier("a Spanish postcode has five digits")
    if compact[:2] not in PROVINCES or compact[2:] == "000":
        raise InvalidIdentifier("no Spanish province has this postcode")
    return compact


def province_of(postcode: str) -> str:
    """The official name of the province of a (normalised) postcode."""
    return PROVINCES[postcode[:2]]


def check_province(postcode: str, raw: str | None) -> str:
    """The official name of the province of ``postcode``; ``raw``, when given, must name that province (in any
    of its usual spellings)."""
    expected = province_of(postcode)
    if raw is None or not raw.strip():
        return expected
    code = _BY_NAME.get(_fold(raw))
    if code is None:
        raise InvalidIdentifier("this is not the name of a Spanish province")
    if code != postcode[:2]:
        raise InvalidIdentifier(f"postcode {postcode} is in {expected}")
    return expected
