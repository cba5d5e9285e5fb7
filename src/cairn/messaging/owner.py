"""The phone's own number, from what one artefact says about it (issue 17).

A phone's own messages carry no sender ("from me"), but its databases name its number in other
places: the addressee of messages it received, the creator of groups it made, its own
settings. Each reader gathers such clues; `OwnerClues.owner` picks the number with the most
support and says which clues point to it — and to which other number, if any, some pointed —
so that an investigator can weigh the inference. Direct clues (the phone was addressed, its
settings) outrank circumstantial ones (a group creator who never wrote to the phone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cairn.messaging.base import Account, Owner


@dataclass
class _Support:
    account: Account
    direct: int = 0
    circumstantial: int = 0
    clues: list[str] = field(default_factory=list)


class OwnerClues:
    def __init__(self) -> None:
        self.support: dict[str, _Support] = {}

    def add(self, account: Account, count: int, clue: str, *, direct: bool = True) -> None:
        """`count` rows say `account` is the phone's own (`clue` says which rows)."""
        if count <= 0:
            return
        found = self.support.setdefault(account.key, _Support(account))
        if direct:
            found.direct += count
        else:
            found.circumstantial += count
        found.clues.append(clue)

    def owner(self) -> Owner | None:
        if not self.support:
            return None
        ranked = sorted(
            self.support.values(),
            key=lambda s: (-s.direct, -s.circumstantial, s.account.key),
        )
        best, others = ranked[0], ranked[1:]
        source = "; ".join(best.clues)
        if others:
            source += "; but also " + "; ".join(
                f"{s.account.key}: {', '.join(s.clues)}" for s in others
            )
        return Owner(best.account, source)
