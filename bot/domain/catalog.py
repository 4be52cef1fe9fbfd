"""The operator-editable catalog: appeal kinds and deadlines, categories, territory, calendar."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from bot.domain.textfold import fold, latin_key

DATA_DIR = Path(__file__).parent.parent / "data"
BUNDLED_CATALOG = DATA_DIR / "catalog.toml"
REGIONS_FILE = DATA_DIR / "regions.json"

Lang = Literal["kk", "ru"]


@dataclass(frozen=True)
class Named:
    code: str
    kk: str
    ru: str

    def name(self, lang: str) -> str:
        return self.kk if lang == "kk" else self.ru


@dataclass(frozen=True)
class Kind(Named):
    days: int = 15
    day_type: Literal["working", "calendar"] = "working"
    hint_kk: str = ""
    hint_ru: str = ""

    def hint(self, lang: str) -> str:
        return self.hint_kk if lang == "kk" else self.hint_ru


@dataclass(frozen=True)
class Place(Named):
    type: str = "district"
    aliases: tuple[str, ...] = ()
    parent: str | None = None

    @cached_property
    def search_keys(self) -> tuple[str, ...]:
        return (*(fold(s) for s in (self.kk, self.ru, *self.aliases)), latin_key(self.kk))


@dataclass(frozen=True, slots=True)
class Limits:
    text_min: int = 10
    text_max: int = 3500
    attachments_max: int = 5


@dataclass(frozen=True, slots=True)
class WorkingTime:
    start: time = time(9, 0)
    end: time = time(18, 30)


@dataclass(frozen=True)
class Department(Named):
    """Where an appeal can be forwarded: a department's own officials' chat."""

    chat_id: int = 0
    # A body outside this akimat (another akimat, a state agency). A department of the
    # akimat keeps the appeal's deadline; another body opens its own procedure (APPK Art. 65),
    # and the citizen is told which.
    external: bool = False


@dataclass(frozen=True)
class AnswerTemplate(Named):
    """A reply officials start from: `kk`/`ru` are the titles, the texts are in text_kk/_ru."""

    text_kk: str = ""
    text_ru: str = ""

    def text(self, lang: str) -> str:
        return self.text_kk if lang == "kk" else self.text_ru


@dataclass(frozen=True)
class Territory:
    regions: tuple[Place, ...]
    districts: dict[str, tuple[Place, ...]]

    @cached_property
    def _by_code(self) -> dict[str, Place]:
        places = {r.code: r for r in self.regions}
        for ds in self.districts.values():
            places.update({d.code: d for d in ds})
        return places

    def place(self, code: str) -> Place | None:
        return self._by_code.get(code)

    def districts_of(self, region_code: str) -> tuple[Place, ...]:
        return self.districts.get(region_code, ())

    @staticmethod
    def search(places: tuple[Place, ...], query: str) -> list[Place]:
        """Places whose name or alias contains every word the citizen typed."""
        words = fold(query).split()
        if not words:
            return []
        return [p for p in places if any(all(w in k for w in words) for k in p.search_keys)]


@dataclass(frozen=True)
class Catalog:
    kinds: tuple[Kind, ...]
    categories: tuple[Named, ...]
    territory: Territory
    working_time: WorkingTime = WorkingTime()
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    limits: Limits = Limits()
    # Officials' chats by category or district code; others go to OFFICIALS_CHAT_ID.
    route_categories: dict[str, int] = field(default_factory=dict)
    route_districts: dict[str, int] = field(default_factory=dict)
    departments: tuple[Department, ...] = ()
    answer_templates: tuple[AnswerTemplate, ...] = ()
    extension_max_months: int = 2
    source: str = field(default=str(BUNDLED_CATALOG))

    def kind(self, code: str) -> Kind | None:
        return next((k for k in self.kinds if k.code == code), None)

    def template(self, code: str) -> AnswerTemplate | None:
        return next((t for t in self.answer_templates if t.code == code), None)

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def category(self, code: str) -> Named | None:
        return next((c for c in self.categories if c.code == code), None)

    def routed_chat(self, district: str, category: str) -> int | None:
        """The officials' chat [routing] gives an appeal (its district's wins over its
        category's); None sends it to OFFICIALS_CHAT_ID."""
        by_district = self.route_districts.get(district)
        return by_district if by_district is not None else self.route_categories.get(category)

    def unrouted_appeal(self) -> tuple[Place, Named] | None:
        """A district and a category whose appeal [routing] gives no chat, or None when every
        appeal a citizen can file has one. An appeal is routed by its district or by its
        category, so every appeal is covered exactly when every district of the territory, or
        every category, is routed."""
        districts = (d for ds in self.territory.districts.values() for d in ds)
        district = next((d for d in districts if d.code not in self.route_districts), None)
        category = next((c for c in self.categories if c.code not in self.route_categories), None)
        if district is None or category is None:
            return None
        return district, category


class CatalogError(Exception):
    pass


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or BUNDLED_CATALOG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return _build(raw, str(path))
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise CatalogError(f"Catalog error in {path}: {exc}") from None


def _build(raw: dict[str, Any], source: str) -> Catalog:
    kinds = tuple(Kind(**k) for k in raw["kinds"])
    categories = tuple(Named(**c) for c in raw["categories"])
    if not kinds or not categories:
        raise ValueError("at least one kind and one category are needed")
    for kind in kinds:
        if kind.day_type not in ("working", "calendar") or kind.days <= 0:
            raise ValueError(f"kind {kind.code}: days must be > 0, day_type working|calendar")
    wt = raw.get("working_time", {})
    cal = raw.get("calendar", {})
    return Catalog(
        kinds=kinds,
        categories=categories,
        territory=_territory(raw.get("territory", {})),
        working_time=WorkingTime(
            time.fromisoformat(wt.get("start", "09:00")), time.fromisoformat(wt.get("end", "18:30"))
        ),
        extra_days_off=frozenset(date.fromisoformat(str(d)) for d in cal.get("extra_days_off", [])),
        extra_working_days=frozenset(
            date.fromisoformat(str(d)) for d in cal.get("extra_working_days", [])
        ),
        limits=Limits(**raw.get("limits", {})),
        route_categories={
            k: int(v) for k, v in raw.get("routing", {}).get("categories", {}).items()
        },
        route_districts={k: int(v) for k, v in raw.get("routing", {}).get("districts", {}).items()},
        departments=tuple(Department(**d) for d in raw.get("departments", [])),
        answer_templates=tuple(AnswerTemplate(**t) for t in raw.get("answer_templates", [])),
        extension_max_months=int(raw.get("deadlines", {}).get("extension_max_months", 2)),
        source=source,
    )


def _territory(cfg: dict[str, Any]) -> Territory:
    data = json.loads(REGIONS_FILE.read_text(encoding="utf-8"))
    only_regions = set(cfg.get("regions", []))
    only_districts = set(cfg.get("districts", []))
    exclude = set(cfg.get("exclude", []))
    regions: list[Place] = []
    districts: dict[str, tuple[Place, ...]] = {}
    for r in data["regions"]:
        kept = tuple(
            Place(d["code"], d["kk"], d["ru"], d["type"], tuple(d["aliases"]), r["code"])
            for d in r["districts"]
            if d["code"] not in exclude and (not only_districts or d["code"] in only_districts)
        )
        if r["code"] in exclude or (only_regions and r["code"] not in only_regions) or not kept:
            continue
        regions.append(Place(r["code"], r["kk"], r["ru"], r["type"], tuple(r["aliases"])))
        districts[r["code"]] = kept
    unknown = (only_regions | only_districts) - {
        p for r in data["regions"] for p in [r["code"], *(d["code"] for d in r["districts"])]
    }
    if unknown:
        raise ValueError(f"territory: unknown codes {sorted(unknown)}")
    if not regions:
        raise ValueError("territory: the filters leave no district")
    return Territory(tuple(regions), districts)
