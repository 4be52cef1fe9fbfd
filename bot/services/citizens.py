"""The citizen's own settings: the language they chose and their consent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from storage.base import Repository
from storage.models import Citizen

Clock = Callable[[], datetime]


class CitizenService:
    def __init__(self, repo: Repository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def get(self, citizen_id: int) -> Citizen | None:
        return await self.repo.get_citizen(citizen_id)

    async def language_of(self, citizen_id: int) -> str | None:
        """The language the citizen chose; None before they chose one."""
        citizen = await self.repo.get_citizen(citizen_id)
        return citizen.language if citizen is not None else None

    async def choose_language(self, citizen_id: int, language: str) -> None:
        """Creates the citizen on first contact."""
        await self.repo.set_language(citizen_id, language)

    async def give_consent(self, citizen_id: int) -> None:
        await self.repo.set_consent(citizen_id, self.clock())
