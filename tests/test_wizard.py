"""The dialog's step order and the operator's catalog, without Telegram."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import BUNDLED_CATALOG, CatalogError, load_catalog
from bot.wizard import next_step, previous_step


def narrowed(tmp_path: Path, territory: str) -> Path:
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    head, _sep, tail = text.partition("[territory]")
    rest = tail[tail.index("\n[", 1) :]
    path = tmp_path / "catalog.toml"
    path.write_text(f"{head}[territory]\n{territory}\n{rest}", encoding="utf-8")
    return path


def test_full_order_with_the_whole_country() -> None:
    catalog = load_catalog()
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "region"
    draft["region"] = "350000000"
    assert next_step("region", draft, catalog, editing=False) == "district"
    assert previous_step("text", draft, catalog) == "district"
    assert previous_step("kind", draft, catalog) is None


def test_one_district_akimat_skips_both_place_steps(tmp_path: Path) -> None:
    catalog = load_catalog(narrowed(tmp_path, 'districts = ["354800000"]'))
    assert [r.code for r in catalog.territory.regions] == ["350000000"]
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "text"
    assert draft == {"region": "350000000", "district": "354800000"}
    assert previous_step("text", draft, catalog) == "category"


def test_one_region_akimat_skips_the_region_step(tmp_path: Path) -> None:
    catalog = load_catalog(narrowed(tmp_path, 'regions = ["790000000"]'))
    draft: dict[str, str] = {}
    assert next_step("category", draft, catalog, editing=False) == "district"
    assert draft == {"region": "790000000"}
    assert previous_step("district", draft, catalog) == "category"


def test_editing_returns_to_the_review_except_after_a_new_region() -> None:
    catalog = load_catalog()
    draft = {"region": "350000000"}
    assert next_step("text", draft, catalog, editing=True) == "review"
    assert next_step("region", draft, catalog, editing=True) == "district"


def test_unknown_territory_code_is_a_clear_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unknown codes"):
        load_catalog(narrowed(tmp_path, 'districts = ["999999999"]'))


def test_broken_catalog_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[kinds]]\ncode = 'x'\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.toml"):
        load_catalog(path)
