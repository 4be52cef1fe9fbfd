"""What the officials' commands read from the records: an appeal's history (/find), the
figures of a period (/stats) and its spreadsheet (/export). The clock, the catalog and the
time zone are the service's, so a command hands in only what the official asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import history
from bot.domain.catalog import Catalog
from bot.domain.receptions import ReceptionCatalog
from bot.domain.reports import Stats
from bot.services.notifiers import WorkbookRenderer
from bot.services.reports import period_export, period_stats
from storage.models import Appeal
from storage.reports import ReportQueries, ReportScope

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Export:
    count: int  # appeals in the file
    content: bytes  # the .xlsx workbook
    made_at: datetime  # local time, for the file's name


class OfficialsReports:
    def __init__(
        self,
        queries: ReportQueries,
        catalog: Catalog,
        receptions: ReceptionCatalog,
        tz: ZoneInfo,
        clock: Clock,
    ) -> None:
        self.queries = queries
        self.catalog = catalog
        self.receptions = receptions
        self.tz = tz
        self.clock = clock

    async def history(self, appeal: Appeal) -> list[history.Event]:
        """What happened to the appeal, oldest first, with the citizen's latest comment."""
        rows = await self.queries.history(appeal.id)
        return history.events(rows, appeal, await self.queries.citizen_comment(appeal.id))

    async def stats(self, days: int, scope: ReportScope) -> Stats:
        return await period_stats(self.queries, days, self.clock(), scope)

    async def export(
        self,
        days: int,
        scope: ReportScope,
        lang: str,
        *,
        workbook: WorkbookRenderer,
        full_contacts_for: int | None = None,
    ) -> Export:
        """The workbook of the last `days` (see `period_export`), written by `workbook`
        (`bot.views.reports.export_xlsx`); whole contacts only with `full_contacts_for`,
        whom the caller has let see them."""
        now = self.clock()
        count, content = await period_export(
            self.queries, self.catalog, lang, self.tz, days, now, scope, workbook=workbook,
            receptions=self.receptions, full_contacts_for=full_contacts_for,
        )  # fmt: skip
        return Export(count, content, now.astimezone(self.tz))
