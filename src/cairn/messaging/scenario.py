"""A sample case of three seized phones whose WhatsApp groups overlap ("Operation Harbour").

Everything a messaging analysis must get right happens here, with numbers that can be worked
out by hand (the tests assert them exactly):

- phone-A (Android, owned by Alice): groups "Harbour Club" and "Night Owls"; the clock
  everyone is measured against. Dan's item X was deleted from it: the message, its media row
  and WhatsApp's thumbnail remain, the file does not. Erin's item D was deleted from the
  database while the WAL still held it; Alice's last message was never checkpointed.
- phone-B (Android, Bob's): "Harbour Club", "Park Run" and "Quiet Room"; its clock runs 90 s
  fast (88-93 s on the messages it shares with phone-A). Dan is recorded by his `@lid`,
  resolved through `jid_map`; Frank's `@lid` is not mapped.
- phone-C (iOS, Carol's): "Night Owls" and "Park Run"; its clock runs 30 s slow (29-31 s).

Story, in true time from 2024-05-01T08:00:00Z: Dan posts X (a known item) in Harbour Club at
0 s; Bob forwards it to Park Run at 600 s and Carol to Night Owls at 900 s. Alice posts her
own camera photo P at 1200 s; Carol forwards it to Park Run at 1500 s. Bob posts Z in Quiet
Room at 2000 s, and Erin posts it in Night Owls at 2060 s: only clock correction puts Bob
first (phone-B's raw stamp is 2090 s). Erin forwards W (forward score 5) at 2400 s and posts D
at 2700 s. Erin joined Night Owls by invite link; Bob was added to Harbour Club by Dan; Frank
left Quiet Room.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cairn.messaging.samples import (
    GARDENS,
    SampleDevice,
    SampleGroup,
    SampleMedia,
    SampleMember,
    SampleMessage,
    SamplePerson,
    tiny_jpeg,
    write_chatstorage,
    write_msgstore,
    write_wa_db,
)

T0 = 1714550400000  # 2024-05-01T08:00:00Z, Unix ms
ALICE = SamplePerson("+447700900001", "Alice Harbour")
BOB = SamplePerson("+447700900002", "Bob Harbour")
CAROL = SamplePerson("+12025550103", "Carol Harbour")
DAN = SamplePerson("+447700900004", "Dan Harbour", lid="190000000000004")
ERIN = SamplePerson("+447700900005", "Erin Harbour")
FRANK = SamplePerson("+12025550106", "Frank Harbour", lid="190000000000006", lid_mapped=False)
PEOPLE = (ALICE, BOB, CAROL, DAN, ERIN, FRANK)

HARBOUR = SampleGroup(
    "120363000000000011",
    "Harbour Club",
    T0 - 86_400_000,
    DAN.phone,
    (SampleMember(DAN.phone, 2), SampleMember(ALICE.phone, 1), SampleMember(BOB.phone)),
)
NIGHT = SampleGroup(
    "120363000000000012",
    "Night Owls",
    T0 - 90_000_000,
    ALICE.phone,
    (SampleMember(ALICE.phone, 2), SampleMember(CAROL.phone, 1), SampleMember(ERIN.phone)),
)
PARK = SampleGroup(
    "120363000000000013",
    "Park Run",
    T0 - 80_000_000,
    CAROL.phone,
    (SampleMember(CAROL.phone, 2), SampleMember(BOB.phone)),
)
QUIET = SampleGroup(
    "120363000000000014",
    "Quiet Room",
    T0 - 50_000_000,
    BOB.phone,
    (SampleMember(BOB.phone, 2), SampleMember(FRANK.phone)),
)

# Seconds each phone's clock is ahead of true time, and per-message exceptions (jitter).
CLOCKS = {"phone-A": 0, "phone-B": 90, "phone-C": -30}
JITTER = {
    ("phone-B", "3EB0K100"): -2,
    ("phone-B", "3EB0K300"): 3,
    ("phone-C", "3EB0X200"): -1,
    ("phone-C", "3EB0P100"): 1,
}
WA_IMAGES = "WhatsApp/Media/WhatsApp Images"


@dataclass(frozen=True)
class HarbourMedia:
    """The items' bytes (benign pictures the caller makes): what the phones exchange."""

    x: bytes  # Dan's item, in the test hash set
    p: bytes  # Alice's camera photo (with camera EXIF)
    z: bytes
    w: bytes
    d: bytes


@dataclass(frozen=True)
class _Step:
    key_id: str
    group: SampleGroup
    sender: SamplePerson
    seconds: int  # true time after T0
    phones: tuple[str, ...]
    media: str | None = None  # which HarbourMedia item
    text: str | None = None
    forwarded: bool = False
    forward_score: int | None = None
    action: int | None = None
    participants: tuple[SamplePerson, ...] = ()


A, B, C = "phone-A", "phone-B", "phone-C"
STORY = (
    _Step("3EB0G2C0", NIGHT, ALICE, -90000, (A, C), action=11),
    _Step("3EB0G3C0", PARK, CAROL, -80000, (B, C), action=11),
    _Step("3EB0G4C0", QUIET, BOB, -50000, (B,), action=11),
    _Step("3EB0G1A0", HARBOUR, DAN, -7200, (A, B), action=4, participants=(BOB,)),
    _Step("3EB0G2J0", NIGHT, ERIN, -3600, (A, C), action=20, participants=(ERIN,)),
    _Step("3EB0X000", HARBOUR, DAN, 0, (A, B), media="x"),
    _Step("3EB0K100", HARBOUR, ALICE, 60, (A, B), text="morning"),
    _Step("3EB0K200", HARBOUR, BOB, 120, (A, B), text="hello all"),
    _Step("3EB0K300", HARBOUR, DAN, 180, (A, B), text="welcome"),
    _Step("3EB0X300", PARK, BOB, 600, (B, C), media="x", forwarded=True, forward_score=1),
    _Step("3EB0X200", NIGHT, CAROL, 900, (A, C), media="x", forwarded=True, forward_score=2),
    _Step("3EB0P100", NIGHT, ALICE, 1200, (A, C), media="p"),
    _Step("3EB0P300", PARK, CAROL, 1500, (B, C), media="p", forwarded=True, forward_score=1),
    _Step("3EB0F400", QUIET, FRANK, 1900, (B,), text="hi"),
    _Step("3EB0Z400", QUIET, BOB, 2000, (B,), media="z"),
    _Step("3EB0Z200", NIGHT, ERIN, 2060, (A, C), media="z"),
    _Step("3EB0W200", NIGHT, ERIN, 2400, (A, C), media="w", forwarded=True, forward_score=5),
    _Step("3EB0L400", QUIET, FRANK, 2500, (B,), action=5, participants=(FRANK,)),
    _Step("3EB0D200", NIGHT, ERIN, 2700, (A, C), media="d"),
    _Step("3EB0S200", NIGHT, ALICE, 3000, (A, C), text="see you"),
)
OWNERS = {A: ALICE, B: BOB, C: CAROL}
# phone-A's last three writes stay in its WAL: D arrives, "see you" is sent, D is deleted.
UNCHECKPOINTED = ("3EB0D200", "3EB0S200")
MEDIA_NAMES = {
    "x": "IMG-20240501-WA0001.jpg",
    "z": "IMG-20240501-WA0002.jpg",
    "p": "IMG-20240501-WA0003.jpg",
    "w": "IMG-20240501-WA0004.jpg",
    "d": "IMG-20240501-WA0005.jpg",
}
CAMERA_PATH = "data/media/0/DCIM/Camera/IMG_20240501_083000.jpg"


def _messages(phone: str, media: HarbourMedia) -> list[SampleMessage]:
    owner = OWNERS[phone]
    messages = []
    for step in STORY:
        if phone not in step.phones:
            continue
        shift = CLOCKS[phone] + JITTER.get((phone, step.key_id), 0)
        ref = None
        if step.media is not None:
            data = getattr(media, step.media)
            from hashlib import sha256

            sent = step.sender == owner
            folder = f"Media/WhatsApp Images/{'Sent/' if sent else ''}"
            thumbnail = tiny_jpeg((200, 60, 40)) if step.media == "x" else None
            ref = SampleMedia(
                sha256(data).hexdigest(),
                folder + MEDIA_NAMES[step.media],
                len(data),
                thumbnail=thumbnail,
            )
        messages.append(
            SampleMessage(
                step.key_id,
                step.group.gid,
                None if step.sender == owner else step.sender.phone,
                T0 + (step.seconds + shift) * 1000,
                7 if step.action is not None else (1 if ref else 0),
                step.text,
                ref,
                step.forwarded,
                step.forward_score if phone != C else None,
                via_lid=phone == B and step.sender in (DAN, FRANK),
                action=step.action,
                participants=tuple(p.phone for p in step.participants),
            )
        )
    return messages


def _device(phone: str, media: HarbourMedia) -> SampleDevice:
    groups = tuple(
        g
        for g in (HARBOUR, NIGHT, PARK, QUIET)
        if any(phone in s.phones for s in STORY if s.group == g)
    )
    contacts = tuple(p for p in PEOPLE if p != OWNERS[phone])
    return SampleDevice(OWNERS[phone], contacts, groups, _messages(phone, media))


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def harbour_case(root: Path, media: HarbourMedia) -> dict[str, Path]:
    """Write the three phones under `root`; returns the folder of each (by evidence label)."""
    databases = "data/data/com.whatsapp/databases"
    phones = {label: root / label for label in (A, B, C)}
    device_a = _device(A, media)
    live = [m for m in device_a.messages if m.key_id not in UNCHECKPOINTED]
    later = [m for m in device_a.messages if m.key_id in UNCHECKPOINTED]
    (phones[A] / databases).mkdir(parents=True)
    write_msgstore(
        phones[A] / databases / "msgstore.db",
        SampleDevice(ALICE, device_a.contacts, device_a.groups, live),
        uncheckpointed=[*later, "3EB0D200"],
    )
    write_wa_db(phones[A] / databases / "wa.db", device_a)
    _write(
        phones[A],
        {
            "system/build.prop": b"ro.product.model=Sample A\n",
            CAMERA_PATH: media.p,
            f"data/media/0/{WA_IMAGES}/Sent/{MEDIA_NAMES['p']}": media.p,
            f"data/media/0/{WA_IMAGES}/{MEDIA_NAMES['w']}": media.w,
            "data/media/0/WhatsApp/Databases/msgstore.db.crypt15": bytes(range(256)) * 4,
        },
    )
    (phones[B] / databases).mkdir(parents=True)
    write_msgstore(phones[B] / databases / "msgstore.db", _device(B, media))
    _write(
        phones[B],
        {
            "system/build.prop": b"ro.product.model=Sample B\n",
            f"data/media/0/{WA_IMAGES}/{MEDIA_NAMES['x']}": media.x,
            f"data/media/0/{WA_IMAGES}/Sent/{MEDIA_NAMES['z']}": media.z,
        },
    )
    group_folder = phones[C] / "private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D"
    group_folder.mkdir(parents=True)
    write_chatstorage(group_folder / "ChatStorage.sqlite", _device(C, media))
    return phones


DEMO_OWNER = SamplePerson("+447700900100", "Demo Owner")
DEMO_BEA = SamplePerson("+447700900102", "Bea Demo")
DEMO_CAL = SamplePerson("+447700900103", "Cal Demo")
DEMO_WALKERS = SampleGroup(
    "120363000000000101",
    "Demo Walkers",
    T0 - 86_400_000,
    DEMO_OWNER.phone,
    (SampleMember(DEMO_OWNER.phone, 2), SampleMember(DEMO_BEA.phone), SampleMember(DEMO_CAL.phone)),
)
DEMO_CLUB = SampleGroup(
    "120363000000000102",
    "Demo Photo Club",
    T0 - 43_200_000,
    DEMO_BEA.phone,
    (SampleMember(DEMO_BEA.phone, 2), SampleMember(DEMO_OWNER.phone)),
)


def demo_whatsapp(device: Path) -> Path:
    """Give `cairn demo`'s device a WhatsApp database: two groups sharing its pictures.

    The owner posts a camera photo of the device first (a producer candidate); Bea forwards
    it, and a WhatsApp image Cal posted first, into the other group (a distributor); Cal
    shares where the walk ends (a location). Written
    at `data/data/com.whatsapp/databases/msgstore.db`, which also makes the device an Android
    extraction. Returns the database.
    """
    camera = sorted((device / "DCIM" / "Camera").glob("IMG_*.jpg"))[2]
    received = device / "WhatsApp" / "Media" / "WhatsApp Images" / "IMG-20240520-WA0001.jpg"

    def media(path: Path, name: str) -> SampleMedia:
        from hashlib import sha256

        data = path.read_bytes()
        return SampleMedia(
            sha256(data).hexdigest(),
            f"Media/WhatsApp Images/{name}",
            len(data),
            thumbnail=tiny_jpeg((90, 140, 90)),
        )

    photo, image = media(camera, "Sent/IMG-20240520-WA0002.jpg"), media(received, received.name)
    walkers, club = DEMO_WALKERS.gid, DEMO_CLUB.gid
    messages = [
        # The owner joined the club by its link: the phone's own notice names its number.
        SampleMessage("DEMO0001", club, None, T0 - 3_600_000, 7, action=20),
        SampleMessage("DEMO0002", walkers, None, T0, 1, media=photo),
        SampleMessage("DEMO0003", walkers, DEMO_CAL.phone, T0 + 300_000, 1, media=image),
        SampleMessage(
            "DEMO0004",
            club,
            DEMO_BEA.phone,
            T0 + 600_000,
            1,
            media=photo,
            forwarded=True,
            forward_score=1,
        ),
        SampleMessage(
            "DEMO0005",
            club,
            DEMO_BEA.phone,
            T0 + 900_000,
            1,
            media=image,
            forwarded=True,
            forward_score=2,
        ),
        SampleMessage("DEMO0006", walkers, DEMO_CAL.phone, T0 + 960_000, text="nice walk"),
        SampleMessage("DEMO0007", walkers, DEMO_CAL.phone, T0 + 1_020_000, 5, place=GARDENS),
    ]
    folder = device / "data" / "data" / "com.whatsapp" / "databases"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "msgstore.db"
    target.unlink(missing_ok=True)  # idempotent: the same database every time
    return write_msgstore(
        target, SampleDevice(DEMO_OWNER, (DEMO_BEA, DEMO_CAL), (DEMO_WALKERS, DEMO_CLUB), messages)
    )
