"""Benign sample WhatsApp artefacts, built with the apps' real table and column names.

One description of a phone (`SampleDevice`: its owner, contacts, groups as that phone sees
them, and messages with times on that phone's clock) is written as any of the artefacts Cairn
reads: Android `msgstore.db` (current and pre-2022 schema) and `wa.db`, iOS
`ChatStorage.sqlite`. The format examples, the tests, the bench and the demo all build their
databases here, so that each reader is exercised on the same shapes. Everything is invented:
numbers come from the ranges reserved for fiction (+44 7700 900xxx, +1 202-555-01xx).
"""

from __future__ import annotations

import base64
import io
import shutil
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from cairn.messaging.android import SELF_ACTIONS
from cairn.messaging.base import COCOA_EPOCH

_BATCH = 20_000


@dataclass(frozen=True)
class SamplePerson:
    phone: str  # E.164
    name: str
    lid: str | None = None  # digits of their privacy id (`…@lid`), when the app uses it
    lid_mapped: bool = True  # whether jid_map resolves the privacy id to the number

    @property
    def user(self) -> str:
        return self.phone.lstrip("+")


@dataclass(frozen=True)
class SampleMember:
    phone: str
    rank: int = 0  # 0 member, 1 admin, 2 creator/owner (group_participant_user.rank)
    pending: bool = False


@dataclass(frozen=True)
class SampleGroup:
    gid: str  # the `user` part of `gid@g.us`
    subject: str
    created_ms: int
    creator: str  # phone
    members: tuple[SampleMember, ...] = ()


@dataclass(frozen=True)
class SampleMedia:
    sha256: str  # hex SHA-256 of the file
    path: str  # file_path as the app records it
    size: int
    mime: str = "image/jpeg"
    caption: str | None = None
    thumbnail: bytes | None = None  # JPEG kept in media_hash_thumbnail

    @property
    def file_hash(self) -> str:
        """WhatsApp's spelling of the digest: base64 of the raw 32 bytes."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class SampleMessage:
    key_id: str
    chat: str  # a group's gid, or the peer's phone
    sender: str | None  # phone; None: sent from this phone
    ms: int  # this phone's clock, Unix milliseconds
    message_type: int = 0  # Android numbering: 0 text, 1 image, 3 video, 7 system, 9 document
    text: str | None = None
    media: SampleMedia | None = None
    forwarded: bool = False
    forward_score: int | None = None
    via_lid: bool = False  # recorded by the sender's @lid rather than their number
    action: int | None = None  # message_system.action_type of a system message
    participants: tuple[str, ...] = ()  # phones the action concerns
    place: tuple[float, float, str | None] | None = None  # a location: lat, lon, name
    reply_to: str | None = None  # the key id of the message a reply quotes


@dataclass(frozen=True)
class SampleDevice:
    owner: SamplePerson
    contacts: tuple[SamplePerson, ...] = ()
    groups: tuple[SampleGroup, ...] = ()
    messages: Iterable[SampleMessage] = field(default=())

    def person(self, phone: str) -> SamplePerson:
        for person in (self.owner, *self.contacts):
            if person.phone == phone:
                return person
        return SamplePerson(phone, phone)


# --- Android msgstore.db, current schema (2022 on) --------------------------------------------

MSGSTORE_SCHEMA = """
CREATE TABLE jid (_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL,
  agent INTEGER, device INTEGER, type INTEGER, raw_string TEXT);
CREATE UNIQUE INDEX jid_key_index ON jid (user, server, agent, device);
CREATE TABLE jid_map (lid_row_id INTEGER PRIMARY KEY NOT NULL, jid_row_id INTEGER NOT NULL,
  sort_id INTEGER NOT NULL DEFAULT 0);
CREATE TABLE chat (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid_row_id INTEGER UNIQUE,
  hidden INTEGER, subject TEXT, created_timestamp INTEGER, display_message_row_id INTEGER,
  last_message_row_id INTEGER, archived INTEGER, sort_timestamp INTEGER);
CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL,
  from_me INTEGER NOT NULL, key_id TEXT NOT NULL, sender_jid_row_id INTEGER, status INTEGER,
  broadcast INTEGER, recipient_count INTEGER, participant_hash TEXT, origination_flags INTEGER,
  origin INTEGER, timestamp INTEGER, received_timestamp INTEGER,
  receipt_server_timestamp INTEGER, message_type INTEGER, text_data TEXT, starred INTEGER,
  lookup_tables INTEGER, sort_id INTEGER NOT NULL DEFAULT 0, message_add_on_flags INTEGER);
CREATE TABLE message_media (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER,
  autotransfer_retry_enabled INTEGER, multicast_id TEXT, media_job_uuid TEXT,
  transferred INTEGER, transcoded INTEGER, file_path TEXT, file_size INTEGER,
  suspicious_content INTEGER, trim_from INTEGER, trim_to INTEGER, face_x INTEGER,
  face_y INTEGER, media_key BLOB, media_key_timestamp INTEGER, width INTEGER, height INTEGER,
  has_streaming_sidecar INTEGER, gif_attribution INTEGER, thumbnail_height_width_ratio REAL,
  direct_path TEXT, first_scan_sidecar BLOB, first_scan_length INTEGER, message_url TEXT,
  mime_type TEXT, file_length INTEGER, media_name TEXT, file_hash TEXT, media_duration INTEGER,
  page_count INTEGER, enc_file_hash TEXT, partial_media_hash TEXT,
  partial_media_enc_hash TEXT, is_animated_sticker INTEGER, original_file_hash TEXT,
  mute_video INTEGER, media_caption TEXT);
CREATE TABLE message_forwarded (message_row_id INTEGER PRIMARY KEY, forward_score INTEGER);
CREATE TABLE message_location (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER,
  latitude REAL, longitude REAL, place_name TEXT, place_address TEXT, url TEXT,
  live_share_duration INTEGER, live_share_final_latitude REAL,
  live_share_final_longitude REAL, live_share_final_timestamp INTEGER, map_download_status INTEGER);
CREATE TABLE message_quoted (message_row_id INTEGER PRIMARY KEY, chat_row_id INTEGER,
  parent_message_chat_row_id INTEGER, from_me INTEGER, sender_jid_row_id INTEGER,
  key_id TEXT, timestamp INTEGER, message_type INTEGER, origin INTEGER, text_data TEXT,
  payment_transaction_id TEXT, lookup_tables INTEGER);
CREATE TABLE media_hash_thumbnail (media_hash TEXT PRIMARY KEY, thumbnail BLOB);
CREATE TABLE group_participant_user (_id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_jid_row_id INTEGER NOT NULL, user_jid_row_id INTEGER NOT NULL, rank INTEGER NOT NULL,
  pending INTEGER NOT NULL, add_timestamp INTEGER, label TEXT);
CREATE TABLE message_system (message_row_id INTEGER PRIMARY KEY, action_type INTEGER NOT NULL);
CREATE TABLE message_system_chat_participant (message_row_id INTEGER, user_jid_row_id INTEGER);
"""


class _Msgstore:
    """Writes one device's rows into an open msgstore.db: jids on first use, chats, groups."""

    def __init__(self, connection: sqlite3.Connection, device: SampleDevice) -> None:
        self.connection = connection
        self.device = device
        self.jids: dict[tuple[str, str], int] = {}
        self.chats: dict[str, int] = {}
        self.groups = {g.gid for g in device.groups}
        self.thumbnails: set[str] = set()

    def jid(self, user: str, server: str) -> int:
        key = (user, server)
        if key not in self.jids:
            cursor = self.connection.execute(
                "INSERT INTO jid (user, server, agent, device, type, raw_string)"
                " VALUES (?, ?, 0, 0, ?, ?)",
                (
                    user,
                    server,
                    {"s.whatsapp.net": 0, "g.us": 1, "lid": 17}[server],
                    f"{user}@{server}",
                ),
            )
            self.jids[key] = int(cursor.lastrowid or 0)
        return self.jids[key]

    def person(self, phone: str, via_lid: bool = False) -> int:
        person = self.device.person(phone)
        number = self.jid(person.user, "s.whatsapp.net")
        if person.lid is None:
            return number
        lid = self.jid(person.lid, "lid")
        if person.lid_mapped:
            self.connection.execute(
                "INSERT OR IGNORE INTO jid_map (lid_row_id, jid_row_id) VALUES (?, ?)",
                (lid, number),
            )
        return lid if via_lid else number

    def group(self, group: SampleGroup) -> None:
        row = self.jid(group.gid, "g.us")
        cursor = self.connection.execute(
            "INSERT INTO chat (jid_row_id, subject, created_timestamp) VALUES (?, ?, ?)",
            (row, group.subject, group.created_ms),
        )
        self.chats[group.gid] = int(cursor.lastrowid or 0)
        for member in group.members:
            self.connection.execute(
                "INSERT INTO group_participant_user (group_jid_row_id, user_jid_row_id,"
                " rank, pending) VALUES (?, ?, ?, ?)",
                (row, self.person(member.phone), member.rank, int(member.pending)),
            )

    def chat(self, chat: str) -> int:
        if chat not in self.chats:
            cursor = self.connection.execute(
                "INSERT INTO chat (jid_row_id) VALUES (?)", (self.person(chat),)
            )
            self.chats[chat] = int(cursor.lastrowid or 0)
        return self.chats[chat]

    def message(self, m: SampleMessage) -> None:
        in_group = m.chat in self.groups
        sender = self.person(m.sender, m.via_lid) if m.sender and in_group else None
        chat = self.chat(m.chat)
        cursor = self.connection.execute(
            "INSERT INTO message (chat_row_id, from_me, key_id, sender_jid_row_id,"
            " origination_flags, timestamp, received_timestamp, message_type, text_data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat,
                int(m.sender is None),
                m.key_id,
                sender,
                int(m.forwarded),
                m.ms,
                m.ms,
                m.message_type,
                m.text,
            ),
        )
        row = int(cursor.lastrowid or 0)
        media = m.media
        if media is not None:
            self.connection.execute(
                "INSERT INTO message_media (message_row_id, chat_row_id, file_path, file_size,"
                " mime_type, file_hash, media_caption, width, height)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 640, 480)",
                (row, chat, media.path, media.size, media.mime, media.file_hash, media.caption),
            )
            if media.thumbnail is not None and media.sha256 not in self.thumbnails:
                self.thumbnails.add(media.sha256)
                self.connection.execute(
                    "INSERT INTO media_hash_thumbnail (media_hash, thumbnail) VALUES (?, ?)",
                    (media.file_hash, media.thumbnail),
                )
        if m.forward_score is not None:
            self.connection.execute(
                "INSERT INTO message_forwarded (message_row_id, forward_score) VALUES (?, ?)",
                (row, m.forward_score),
            )
        if m.place is not None:
            self.connection.execute(
                "INSERT INTO message_location (message_row_id, chat_row_id, latitude,"
                " longitude, place_name) VALUES (?, ?, ?, ?, ?)",
                (row, chat, *m.place),
            )
        if m.reply_to is not None:  # the quoted message's excerpt: no media row
            self.connection.execute(
                "INSERT INTO message_quoted (message_row_id, chat_row_id, key_id, message_type)"
                " VALUES (?, ?, ?, 0)",
                (row, chat, m.reply_to),
            )
        if m.action is not None:
            self.connection.execute(
                "INSERT INTO message_system (message_row_id, action_type) VALUES (?, ?)",
                (row, m.action),
            )
            participants = m.participants
            if m.sender is None and m.action in SELF_ACTIONS and not participants:
                participants = (self.device.owner.phone,)  # the phone's own act names it
            for phone in participants:
                self.connection.execute(
                    "INSERT INTO message_system_chat_participant (message_row_id,"
                    " user_jid_row_id) VALUES (?, ?)",
                    (row, self.person(phone)),
                )


def write_msgstore(
    path: Path,
    device: SampleDevice,
    *,
    uncheckpointed: Iterable[SampleMessage | str] = (),
) -> Path:
    """An Android `msgstore.db` in the current schema, messages in their given order.

    `uncheckpointed` happens afterwards in write-ahead-log mode and stays in the `-wal` file,
    as on a phone imaged while WhatsApp ran: a message is inserted, a key id deletes the
    message that has it. Each is its own commit. The database, `-wal` and `-shm` are copied
    to `path` while the writing connection is still open (closing it would checkpoint).
    """
    steps = list(uncheckpointed)
    build = path.with_name(f".{path.name}.build") if steps else path
    build.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(build)) as connection:
        connection.executescript(MSGSTORE_SCHEMA)
        writer = _Msgstore(connection, device)
        for group in device.groups:
            writer.group(group)
        messages = iter(device.messages)
        while batch := list(islice(messages, _BATCH)):
            for m in batch:
                writer.message(m)
        connection.commit()
        if steps:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            for step in steps:
                if isinstance(step, str):
                    connection.execute("DELETE FROM message WHERE key_id = ?", (step,))
                else:
                    writer.message(step)
                connection.commit()
            for suffix in ("", "-wal", "-shm"):
                shutil.copyfile(f"{build}{suffix}", f"{path}{suffix}")
    if steps:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{build}{suffix}").unlink(missing_ok=True)
    return path


# --- Android msgstore.db, pre-2022 schema ------------------------------------------------------

LEGACY_SCHEMA = """
CREATE TABLE messages (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT NOT NULL,
  key_from_me INTEGER, key_id TEXT NOT NULL, status INTEGER, needs_push INTEGER, data TEXT,
  timestamp INTEGER, media_url TEXT, media_mime_type TEXT, media_wa_type TEXT,
  media_size INTEGER, media_name TEXT, media_caption TEXT, media_hash TEXT,
  media_duration INTEGER, origin INTEGER, latitude REAL, longitude REAL, thumb_image TEXT,
  remote_resource TEXT, received_timestamp INTEGER, send_timestamp INTEGER,
  receipt_server_timestamp INTEGER, receipt_device_timestamp INTEGER, raw_data BLOB,
  recipient_count INTEGER, participant_hash TEXT, starred INTEGER, quoted_row_id INTEGER,
  mentioned_jids TEXT, multicast_id TEXT, edit_version INTEGER, media_enc_hash TEXT,
  payment_transaction_id TEXT, forwarded INTEGER, preview_type INTEGER, send_count INTEGER);
CREATE TABLE chat_list (_id INTEGER PRIMARY KEY AUTOINCREMENT, key_remote_jid TEXT UNIQUE,
  message_table_id INTEGER, subject TEXT, creation INTEGER, last_read_message_table_id INTEGER);
CREATE TABLE group_participants (_id INTEGER PRIMARY KEY AUTOINCREMENT, gjid TEXT NOT NULL,
  jid TEXT NOT NULL, admin INTEGER, pending INTEGER, sent_sender_key INTEGER);
CREATE TABLE message_thumbnails (thumbnail BLOB, timestamp DATETIME,
  key_remote_jid TEXT NOT NULL, key_from_me INTEGER, key_id TEXT NOT NULL);
"""


def write_legacy_msgstore(path: Path, device: SampleDevice) -> Path:
    """An Android `msgstore.db` in the pre-2022 `messages` schema (no @lid, no scores)."""
    groups = {g.gid for g in device.groups}

    def jid(chat: str) -> str:
        return f"{chat}@g.us" if chat in groups else f"{chat.lstrip('+')}@s.whatsapp.net"

    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(LEGACY_SCHEMA)
        for group in device.groups:
            connection.execute(
                "INSERT INTO chat_list (key_remote_jid, subject, creation) VALUES (?, ?, ?)",
                (jid(group.gid), group.subject, group.created_ms),
            )
            for member in group.members:
                connection.execute(
                    "INSERT INTO group_participants (gjid, jid, admin, pending)"
                    " VALUES (?, ?, ?, ?)",
                    (jid(group.gid), jid(member.phone), member.rank, int(member.pending)),
                )
        messages = iter(device.messages)
        while batch := list(islice(messages, _BATCH)):
            for m in batch:
                media = m.media
                in_group = m.chat in groups
                connection.execute(
                    "INSERT INTO messages (key_remote_jid, key_from_me, key_id, status, data,"
                    " timestamp, media_mime_type, media_wa_type, media_size, media_name,"
                    " media_caption, media_hash, remote_resource, forwarded, latitude,"
                    " longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        jid(m.chat),
                        int(m.sender is None),
                        m.key_id,
                        6 if m.message_type == 7 else 0,
                        m.text,
                        m.ms,
                        media.mime if media else None,
                        str(m.message_type),
                        media.size if media else None,
                        media.path if media else None,
                        media.caption if media else None,
                        media.file_hash if media else None,
                        jid(m.sender) if m.sender and in_group else None,
                        int(m.forwarded),
                        m.place[0] if m.place else None,
                        m.place[1] if m.place else None,
                    ),
                )
                if media is not None and media.thumbnail is not None:
                    connection.execute(
                        "INSERT INTO message_thumbnails (thumbnail, key_remote_jid, key_from_me,"
                        " key_id) VALUES (?, ?, ?, ?)",
                        (media.thumbnail, jid(m.chat), int(m.sender is None), m.key_id),
                    )
        connection.commit()
    return path


# --- Android wa.db ---------------------------------------------------------------------------

WA_SCHEMA = """
CREATE TABLE wa_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT NOT NULL,
  is_whatsapp_user BOOLEAN NOT NULL, status TEXT, status_timestamp INTEGER, number TEXT,
  raw_contact_id INTEGER, display_name TEXT, phone_type INTEGER, phone_label TEXT,
  unseen_msg_count INTEGER, photo_ts INTEGER, thumb_ts INTEGER, photo_id_timestamp INTEGER,
  given_name TEXT, family_name TEXT, wa_name TEXT, sort_name TEXT, nickname TEXT,
  company TEXT, title TEXT, status_autodownload_disabled INTEGER, keep_timestamp INTEGER,
  is_spam_reported INTEGER);
CREATE TABLE wa_group_admin_settings (_id INTEGER PRIMARY KEY AUTOINCREMENT, jid TEXT UNIQUE,
  restrict_mode BOOLEAN, announcement_group BOOLEAN, creator_jid TEXT);
"""


def write_wa_db(path: Path, device: SampleDevice) -> Path:
    """An Android `wa.db`: the owner's contacts (contact and push names), groups and creators."""
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(WA_SCHEMA)
        for person in device.contacts:
            connection.execute(
                "INSERT INTO wa_contacts (jid, is_whatsapp_user, number, display_name, wa_name)"
                " VALUES (?, 1, ?, ?, ?)",
                (
                    f"{person.user}@s.whatsapp.net",
                    person.phone,
                    person.name,
                    person.name.split()[0],
                ),
            )
        for group in device.groups:
            connection.execute(
                "INSERT INTO wa_contacts (jid, is_whatsapp_user, display_name) VALUES (?, 1, ?)",
                (f"{group.gid}@g.us", group.subject),
            )
            connection.execute(
                "INSERT INTO wa_group_admin_settings (jid, creator_jid) VALUES (?, ?)",
                (f"{group.gid}@g.us", f"{group.creator.lstrip('+')}@s.whatsapp.net"),
            )
        connection.commit()
    return path


# --- iOS ChatStorage.sqlite ------------------------------------------------------------------

CHATSTORAGE_SCHEMA = """
CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZARCHIVED INTEGER, ZCONTACTABID INTEGER, ZFLAGS INTEGER, ZHIDDEN INTEGER,
  ZMESSAGECOUNTER INTEGER, ZREMOVED INTEGER, ZSESSIONTYPE INTEGER, ZUNREADCOUNT INTEGER,
  ZGROUPINFO INTEGER, ZLASTMESSAGE INTEGER, ZPROPERTIES INTEGER, ZLASTMESSAGEDATE TIMESTAMP,
  ZCONTACTIDENTIFIER VARCHAR, ZCONTACTJID VARCHAR, ZETAG VARCHAR, ZLASTMESSAGETEXT VARCHAR,
  ZPARTNERNAME VARCHAR, ZSAVEDINPUT VARCHAR);
CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCHILDMESSAGESDELIVEREDCOUNT INTEGER, ZDATAITEMVERSION INTEGER, ZDOCID INTEGER,
  ZENCRETRYCOUNT INTEGER, ZFILTEREDRECIPIENTCOUNT INTEGER, ZFLAGS INTEGER,
  ZGROUPEVENTTYPE INTEGER, ZISFROMME INTEGER, ZMESSAGEERRORSTATUS INTEGER,
  ZMESSAGESTATUS INTEGER, ZMESSAGETYPE INTEGER, ZSORT INTEGER, ZSPOTLIGHTSTATUS INTEGER,
  ZSTARRED INTEGER, ZCHATSESSION INTEGER, ZGROUPMEMBER INTEGER, ZLASTSESSION INTEGER,
  ZMEDIAITEM INTEGER, ZMESSAGEINFO INTEGER, ZPARENTMESSAGE INTEGER, ZMESSAGEDATE TIMESTAMP,
  ZSENTDATE TIMESTAMP, ZFROMJID VARCHAR, ZMEDIASECTIONID VARCHAR, ZPHASH VARCHAR,
  ZPUSHNAME VARCHAR, ZSTANZAID VARCHAR, ZTEXT VARCHAR, ZTOJID VARCHAR);
CREATE TABLE ZWAMEDIAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZCLOUDSTATUS INTEGER, ZFILESIZE INTEGER, ZMEDIAORIGIN INTEGER, ZMOVIEDURATION INTEGER,
  ZMESSAGE INTEGER, ZASPECTRATIO FLOAT, ZHACCURACY FLOAT, ZLATITUDE FLOAT, ZLONGITUDE FLOAT,
  ZMEDIAURLDATE TIMESTAMP, ZAUTHORNAME VARCHAR, ZCOLLECTIONNAME VARCHAR,
  ZMEDIALOCALPATH VARCHAR, ZMEDIAURL VARCHAR, ZTHUMBNAILLOCALPATH VARCHAR, ZTITLE VARCHAR,
  ZVCARDNAME VARCHAR, ZVCARDSTRING VARCHAR, ZXMPPTHUMBPATH VARCHAR, ZMEDIAKEY BLOB,
  ZMETADATA BLOB);
CREATE TABLE ZWAGROUPMEMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZISACTIVE INTEGER, ZISADMIN INTEGER, ZSENDERKEYSENT INTEGER, ZCHATSESSION INTEGER,
  ZRECENTGROUPCHAT INTEGER, ZCONTACTIDENTIFIER VARCHAR, ZCONTACTNAME VARCHAR,
  ZFIRSTNAME VARCHAR, ZMEMBERJID VARCHAR);
CREATE TABLE ZWAGROUPINFO (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZSTATE INTEGER, ZCHATSESSION INTEGER, ZLASTMESSAGEOWNER INTEGER, ZCREATIONDATE TIMESTAMP,
  ZSUBJECTTIMESTAMP TIMESTAMP, ZCREATORJID VARCHAR, ZOWNERJID VARCHAR, ZPICTUREID VARCHAR,
  ZPICTUREPATH VARCHAR, ZSOURCEJID VARCHAR, ZSUBJECTOWNERJID VARCHAR);
CREATE TABLE ZWAPROFILEPUSHNAME (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,
  ZJID VARCHAR, ZPUSHNAME VARCHAR);
"""
# Android message_type -> iOS ZMESSAGETYPE for the kinds samples use.
_IOS_TYPE = {0: 0, 1: 1, 3: 2, 2: 3, 5: 5, 9: 8, 13: 11, 7: 6}
# Android message_system.action_type -> iOS ZGROUPEVENTTYPE (cairn.messaging.ios).
_IOS_GROUP_EVENT = {1: 1, 4: 2, 12: 2, 5: 4, 13: 4, 7: 7, 14: 7, 11: 12, 20: 15}
IOS_FORWARDED = 0x180  # ZFLAGS bits that mark a forwarded message


def cocoa(ms: int) -> float:
    return ms / 1000 - COCOA_EPOCH


def write_preferences(path: Path, owner: SamplePerson) -> Path:
    """WhatsApp's settings file (`shared_prefs/com.whatsapp_preferences_light.xml`): the
    registered number and the owner's push name among unrelated settings."""
    path.write_text(
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
        '    <boolean name="show_tos_update" value="false" />\n'
        f'    <string name="registration_jid">{owner.user}</string>\n'
        f'    <string name="push_name">{owner.name.split()[0]}</string>\n'
        '    <int name="reg_attempts_verify_code" value="1" />\n</map>\n',
        encoding="utf-8",
    )
    return path


def write_chatstorage(path: Path, device: SampleDevice) -> Path:
    """An iOS `ChatStorage.sqlite` (Core Data): sessions, members, messages, media items.

    As on a phone, the owner's number is nowhere but in the addressee (`ZTOJID`) of what
    the phone received and in the groups it created; contacts' push names are kept apart.
    """
    own_jid = f"{device.owner.user}@s.whatsapp.net"
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(CHATSTORAGE_SCHEMA)
        for person in device.contacts:
            connection.execute(
                "INSERT INTO ZWAPROFILEPUSHNAME (ZJID, ZPUSHNAME) VALUES (?, ?)",
                (f"{person.user}@s.whatsapp.net", person.name.split()[0]),
            )
        sessions: dict[str, int] = {}
        members: dict[tuple[str, str], int] = {}
        for group in device.groups:
            cursor = connection.execute(
                "INSERT INTO ZWACHATSESSION (ZCONTACTJID, ZPARTNERNAME, ZSESSIONTYPE)"
                " VALUES (?, ?, 1)",
                (f"{group.gid}@g.us", group.subject),
            )
            session = sessions[group.gid] = int(cursor.lastrowid or 0)
            creator = f"{group.creator.lstrip('+')}@s.whatsapp.net"
            cursor = connection.execute(
                "INSERT INTO ZWAGROUPINFO (ZCHATSESSION, ZCREATORJID, ZSUBJECTOWNERJID,"
                " ZCREATIONDATE) VALUES (?, ?, ?, ?)",
                (session, creator, creator, cocoa(group.created_ms)),
            )
            connection.execute(
                "UPDATE ZWACHATSESSION SET ZGROUPINFO = ? WHERE Z_PK = ?",
                (cursor.lastrowid, session),
            )
            for member in group.members:
                cursor = connection.execute(
                    "INSERT INTO ZWAGROUPMEMBER (ZCHATSESSION, ZMEMBERJID, ZCONTACTNAME,"
                    " ZISADMIN, ZISACTIVE) VALUES (?, ?, ?, ?, 1)",
                    (
                        session,
                        f"{member.phone.lstrip('+')}@s.whatsapp.net",
                        device.person(member.phone).name,
                        int(member.rank > 0),
                    ),
                )
                members[(group.gid, member.phone)] = int(cursor.lastrowid or 0)
        for m in device.messages:
            in_group = any(g.gid == m.chat for g in device.groups)
            if m.chat not in sessions:
                cursor = connection.execute(
                    "INSERT INTO ZWACHATSESSION (ZCONTACTJID, ZPARTNERNAME, ZSESSIONTYPE)"
                    " VALUES (?, ?, 0)",
                    (f"{m.chat.lstrip('+')}@s.whatsapp.net", device.person(m.chat).name),
                )
                sessions[m.chat] = int(cursor.lastrowid or 0)
            media_pk = None
            if m.place is not None:
                cursor = connection.execute(
                    "INSERT INTO ZWAMEDIAITEM (ZLATITUDE, ZLONGITUDE, ZTITLE) VALUES (?, ?, ?)",
                    m.place,
                )
                media_pk = cursor.lastrowid
            elif m.reply_to is not None:  # iOS keeps a quoted excerpt as an item without a file
                cursor = connection.execute(
                    "INSERT INTO ZWAMEDIAITEM (ZMETADATA) VALUES (?)",
                    (b"quoted " + m.reply_to.encode(),),
                )
                media_pk = cursor.lastrowid
            elif m.media is not None:
                cursor = connection.execute(
                    "INSERT INTO ZWAMEDIAITEM (ZMEDIALOCALPATH, ZFILESIZE, ZVCARDNAME,"
                    " ZVCARDSTRING, ZTITLE) VALUES (?, ?, ?, ?, ?)",
                    (m.media.path, m.media.size, m.media.file_hash, m.media.mime, m.media.caption),
                )
                media_pk = cursor.lastrowid
            chat_jid = f"{m.chat}@g.us" if in_group else f"{m.chat.lstrip('+')}@s.whatsapp.net"
            sender_pk = members.get((m.chat, m.sender)) if m.sender and in_group else None
            event = _IOS_GROUP_EVENT.get(m.action or 0) if in_group else None
            text = m.text
            if event is not None:
                # A notice: ZGROUPMEMBER is whom it concerns; additions and removals name
                # who did it in ZTEXT.
                if m.participants:
                    sender_pk = members.get((m.chat, m.participants[0]))
                if event in (2, 7) and m.sender is not None:
                    text = f"{m.sender.lstrip('+')}@s.whatsapp.net"
            cursor = connection.execute(
                "INSERT INTO ZWAMESSAGE (ZCHATSESSION, ZISFROMME, ZFROMJID, ZTOJID,"
                " ZGROUPMEMBER, ZMESSAGEDATE, ZFLAGS, ZMEDIAITEM, ZTEXT, ZSTANZAID,"
                " ZMESSAGETYPE, ZGROUPEVENTTYPE, ZPUSHNAME)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sessions[m.chat],
                    int(m.sender is None),
                    None if m.sender is None else chat_jid,
                    chat_jid if m.sender is None else own_jid,
                    sender_pk,
                    cocoa(m.ms),
                    IOS_FORWARDED if m.forwarded else 0,
                    media_pk,
                    text,
                    m.key_id,
                    _IOS_TYPE.get(m.message_type, m.message_type),
                    event or 0,
                    # The sender's push name travels with each message, the owner's too.
                    None
                    if event
                    else device.person(m.sender or device.owner.phone).name.split()[0],
                ),
            )
            if media_pk is not None:
                connection.execute(
                    "UPDATE ZWAMEDIAITEM SET ZMESSAGE = ? WHERE Z_PK = ?",
                    (cursor.lastrowid, media_pk),
                )
        connection.commit()
    return path


# --- A tiny device for the format examples -----------------------------------------------------

ALICE = SamplePerson("+447700900001", "Alice Example")
BOB = SamplePerson("+447700900002", "Bob Example", lid="190000000000002")
CAROL = SamplePerson("+12025550103", "Carol Example")
EXAMPLE_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # "test"


def example_device() -> SampleDevice:
    """One group of three, a one-to-one chat, a photo forwarded on, and a join by invite link."""
    photo = SampleMedia(
        EXAMPLE_SHA256,
        "Media/WhatsApp Images/IMG-20240501-WA0001.jpg",
        4,
        thumbnail=tiny_jpeg((90, 120, 150)),
    )
    group = SampleGroup(
        "120363000000000001",
        "Example Group",
        1714550400000,
        ALICE.phone,
        (SampleMember(ALICE.phone, 2), SampleMember(BOB.phone), SampleMember(CAROL.phone)),
    )
    messages = (
        SampleMessage("3EB0A1", group.gid, None, 1714550400000, 7, action=11),
        SampleMessage(
            "3EB0A2",
            group.gid,
            CAROL.phone,
            1714550460000,
            7,
            action=20,
            participants=(CAROL.phone,),
        ),
        SampleMessage("3EB0A3", group.gid, BOB.phone, 1714550520000, 1, media=photo, via_lid=True),
        SampleMessage(
            "3EB0A4",
            group.gid,
            None,
            1714550580000,
            1,
            media=photo,
            forwarded=True,
            forward_score=1,
        ),
        SampleMessage("3EB0A5", CAROL.phone, CAROL.phone, 1714550640000, 0, text="hello"),
    )
    return SampleDevice(ALICE, (BOB, CAROL), (group,), messages)


GARDENS = (51.5074, -0.1278, "Victoria Embankment Gardens")


def located_device() -> SampleDevice:
    """The example device, plus Carol's location message and Alice's quoted reply to it."""
    device = example_device()
    extra = (
        SampleMessage("3EB0L1", CAROL.phone, CAROL.phone, 1714550700000, 5, place=GARDENS),
        SampleMessage("3EB0L2", CAROL.phone, None, 1714550760000, 0, "there?", reply_to="3EB0L1"),
    )
    return SampleDevice(device.owner, device.contacts, device.groups, (*device.messages, *extra))


def tiny_jpeg(colour: tuple[int, int, int], side: int = 8) -> bytes:
    """A plain-colour JPEG, as small as the thumbnails WhatsApp keeps in its database."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, "JPEG", quality=70)
    return out.getvalue()


# --- Telegram Desktop "Export chat history", JSON ------------------------------------------

_TELEGRAM_FILES = {  # Android message_type -> (field, media_type, folder) of Telegram's export
    1: ("photo", None, "photos"),
    2: ("file", "voice_message", "voice_messages"),
    3: ("file", "video_file", "video_files"),
    9: ("file", None, "files"),
    13: ("file", "animation", "video_files"),
    20: ("file", "sticker", "stickers"),
}
# Android's message_system.action_type -> Telegram's service action.
_TELEGRAM_ACTIONS = {
    1: "edit_group_title",
    4: "invite_members",
    12: "invite_members",
    5: "remove_members",
    13: "remove_members",
    7: "remove_members",
    14: "remove_members",
    11: "create_group",
    20: "join_group_by_link",
}


def telegram_id(phone: str) -> int:
    """A sample person's Telegram user id (or a group's chat id), derived from their number."""
    return int(phone.lstrip("+")[-9:])


def write_telegram_export(
    folder: Path, device: SampleDevice, files: dict[str, bytes] | None = None
) -> Path:
    """A Telegram Desktop full-account export of `device` (`result.json` and its media), with
    the fields and paths Telegram Desktop writes: the account's profile and contacts, then each
    group as a private supergroup and each one-to-one chat as a personal chat.

    A media file is written when `files` holds its content (by SHA-256); otherwise it is missing
    from the folder, as when an export is copied without its media.
    """
    import hashlib
    import json
    from datetime import UTC, datetime

    files = dict(files or {})
    if any(hashlib.sha256(data).hexdigest() != sha for sha, data in files.items()):
        raise ValueError("a sample file's content does not have the SHA-256 it is given under")
    owner = device.owner

    def names(person: SamplePerson) -> tuple[str, str]:
        first, _, last = person.name.partition(" ")
        return first, last

    def peer(phone: str) -> tuple[str, str]:
        person = device.person(phone)
        return person.name, f"user{telegram_id(person.phone)}"

    chats: dict[str, list[SampleMessage]] = {}
    for m in device.messages:
        chats.setdefault(m.chat, []).append(m)
    groups = {g.gid: g for g in device.groups}
    counter = 0
    dialogs = []
    for chat, messages in chats.items():
        group = groups.get(chat)
        joined_later = {p for m in messages if m.action in (4, 12, 20) for p in m.participants}
        ids = {m.key_id: number for number, m in enumerate(messages, 1)}
        rows = []
        for number, m in enumerate(messages, 1):
            sender = m.sender or owner.phone
            name, from_id = peer(sender)
            moment = datetime.fromtimestamp(m.ms / 1000, UTC)
            row: dict[str, object] = {
                "id": number,
                "type": "service" if m.message_type == 7 else "message",
                "date": moment.replace(tzinfo=None).isoformat(),
                "date_unixtime": str(m.ms // 1000),
            }
            if m.message_type == 7:
                action = _TELEGRAM_ACTIONS.get(m.action or 0, "pin_message")
                row.update(actor=name, actor_id=from_id, action=action)
                if action == "create_group" and group is not None:
                    row["title"] = group.subject
                    row["members"] = [
                        device.person(member.phone).name
                        for member in group.members
                        if member.phone not in (group.creator, *joined_later)
                    ]
                elif action in ("invite_members", "remove_members"):
                    row["members"] = [device.person(p).name for p in m.participants]
                elif action == "join_group_by_link" and group is not None:
                    row["inviter"] = device.person(group.creator).name
                elif action == "edit_group_title":
                    row["title"] = m.text or ""
                row["text"] = ""
                rows.append(row)
                continue
            row.update({"from": name, "from_id": from_id})
            if m.forwarded:
                row["forwarded_from"] = "Example Channel"
            if m.reply_to in ids:
                row["reply_to_message_id"] = ids[m.reply_to]
            shape = _TELEGRAM_FILES.get(m.message_type)
            if shape is not None and m.media is not None:
                key, media_type, subfolder = shape
                counter += 1
                extension = Path(m.media.path).suffix or ".bin"
                stamp = moment.strftime("%d-%m-%Y_%H-%M-%S")
                relative = f"{subfolder}/{key}_{counter}@{stamp}{extension}"
                content = files.get(m.media.sha256)
                if content is not None:
                    (folder / subfolder).mkdir(parents=True, exist_ok=True)
                    (folder / relative).write_bytes(content)
                row[key] = relative
                if media_type:
                    row["media_type"] = media_type
                if key == "file":
                    row["mime_type"] = m.media.mime
            elif m.place is not None:
                latitude, longitude, title = m.place
                row["location_information"] = {"latitude": latitude, "longitude": longitude}
                if title:
                    row["place_name"] = title
            elif m.message_type == 4:
                contact = device.person(m.participants[0] if m.participants else owner.phone)
                first, last = names(contact)
                row["contact_information"] = {
                    "first_name": first,
                    "last_name": last,
                    "phone_number": contact.phone,
                }
            row["text"] = (m.media.caption if m.media else None) or m.text or ""
            rows.append(row)
        if group is not None:
            dialogs.append(
                {
                    "name": group.subject,
                    "type": "private_supergroup",
                    "id": telegram_id(group.gid),
                    "messages": rows,
                }
            )
        else:
            person = device.person(chat)
            dialogs.append(
                {
                    "name": person.name,
                    "type": "personal_chat",
                    "id": telegram_id(person.phone),
                    "messages": rows,
                }
            )
    first, last = names(owner)
    document = {
        "about": "Here is the data you requested. Remember: Telegram is ad free, …",
        "personal_information": {
            "user_id": telegram_id(owner.phone),
            "first_name": first,
            "last_name": last,
            "phone_number": owner.phone,
            "username": f"@{first.lower()}_example",
        },
        "contacts": {
            "about": "If you allow access, Telegram continuously syncs your contacts …",
            "list": [
                {
                    "user_id": telegram_id(person.phone),
                    "first_name": names(person)[0],
                    "last_name": names(person)[1],
                    "phone_number": person.phone,
                    "date": "2024-04-01T10:00:00",
                    "date_unixtime": "1711965600",
                }
                for person in device.contacts
            ],
        },
        "chats": {"about": "This page lists all chats from this export.", "list": dialogs},
    }
    path = folder / "result.json"
    # Telegram Desktop indents by one space per level, one member per line.
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
