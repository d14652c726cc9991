"""The files adapter beyond the contract: naming, malformed documents, atomic writes."""

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from syncengine.domain.ports import LocalRecord
from syncengine.errors import ConfigError, LocalConflictError, LocalDataError
from syncengine.local import FilesPlatform
from syncengine.local.files.platform import STAMP_RESOLUTION_NS
from syncengine.local.moments import from_ns
from tests.fixtures.opened_files import opened_in
from tests.local.harness import contact


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "platform"
    made.mkdir()
    return made


@pytest.fixture
def platform(folder: Path) -> FilesPlatform:
    return FilesPlatform(folder)


def write(folder: Path, name: str, content: object) -> Path:
    path = folder / name
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(platform: FilesPlatform) -> dict[str, str]:
    return {
        Path(item.where).name: item.problem
        for item in platform.scan()
        if isinstance(item, LocalDataError)
    }


def records_of(platform: FilesPlatform) -> list[LocalRecord]:
    return [item for item in platform.scan() if isinstance(item, LocalRecord)]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- configuration ---------------------------------------------------------------------


def test_the_path_option_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        FilesPlatform.from_options({"adapter": "files"})
    assert caught.value.key == "local.path"


def test_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        FilesPlatform.from_options({"path": str(tmp_path / "nope")})
    assert caught.value.key == "local.path"
    assert not (tmp_path / "nope").exists()


def test_a_file_as_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        FilesPlatform.from_options({"path": str(tmp_path / "file")})


# -- reading ---------------------------------------------------------------------------


def test_names_say_which_contact_or_new_key_a_document_is(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "1001.json", {"id": 1001, "name": "Ada"})
    write(folder, "new-web-42.json", {"name": "Alan"})

    found = {(r.key, r.contact_id) for r in records_of(platform)}

    assert found == {("1001", 1001), ("web-42", None)}


def test_the_modification_time_is_the_files_mtime(folder: Path, platform: FilesPlatform) -> None:
    path = write(folder, "1001.json", {"name": "Ada"})
    os.utime(path, ns=(0, 1_714_564_800_123_456_789))

    got = platform.get(1001)

    assert got is not None
    assert got.modified_at == from_ns(1_714_564_800_123_456_789)
    assert got.modified_at.isoformat() == "2024-05-01T12:00:00.123456+00:00"


def test_other_files_in_the_folder_are_ignored(folder: Path, platform: FilesPlatform) -> None:
    write(folder, "README.md", "# the platform's export")
    write(folder, "notes.txt", "hello")
    write(folder, ".1001.json.abc123.tmp", "{half a docu")
    write(folder, ".hidden.json", "not ours")
    (folder / "archive.json").mkdir()
    write(folder, "1001.json", {"name": "Ada"})

    assert list(platform.scan()) == [platform.get(1001)]


@pytest.mark.parametrize("name", ["ada.json", "0100.json", "0.json", "-5.json", "new-.json"])
def test_a_bad_file_name_is_reported(folder: Path, platform: FilesPlatform, name: str) -> None:
    write(folder, name, {"name": "Ada"})

    errors = errors_of(platform)
    assert list(errors) == [name]
    assert "neither <contactId>.json" in errors[name]
    assert records_of(platform) == []


@pytest.mark.parametrize("name", ["99999999999999999999.json", "2147483648.json"])
def test_a_name_beyond_crms_contact_id_range_is_reported_with_the_range_and_skipped(
    folder: Path, platform: FilesPlatform, name: str
) -> None:
    write(folder, name, {"name": "Nobody"})
    write(folder, "2147483647.json", {"name": "The last id CRM+ can have"})

    errors = errors_of(platform)

    assert list(errors) == [name]
    assert "1 to 2147483647" in errors[name]
    assert [r.contact_id for r in records_of(platform)] == [2147483647]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"name": "Ada",}', "invalid JSON"),
        ("[1, 2]", "an array, not a JSON object"),
        ('"Ada"', "a string, not a JSON object"),
        ('{"name": "Ada", "name": "Grace"}', "the key 'name' appears twice"),
        ('{"giftAskAmount": NaN}', "NaN is not valid JSON"),
        ('{"id": 2002, "name": "Ada"}', "'id' 2002 disagrees with contact id 1001"),
        ('{"id": true}', "'id' True disagrees"),
        ('{"id": "1001"}', "'id' '1001' disagrees"),
    ],
)
def test_a_malformed_document_is_reported_naming_the_file_and_the_problem(
    folder: Path, platform: FilesPlatform, content: str, problem: str
) -> None:
    write(folder, "1001.json", content)

    (error,) = [e for e in platform.scan() if isinstance(e, LocalDataError)]

    assert error.where == str(folder / "1001.json")
    assert problem in error.problem
    assert str(folder / "1001.json") in str(error)


def test_a_new_document_carrying_an_id_is_malformed(folder: Path, platform: FilesPlatform) -> None:
    write(folder, "new-k1.json", {"id": 5, "name": "Ada"})

    assert "not linked to a CRM+ contact yet" in errors_of(platform)["new-k1.json"]


def test_a_document_that_is_not_utf8_is_malformed(folder: Path, platform: FilesPlatform) -> None:
    (folder / "1001.json").write_bytes(b'{"name": "Z\xfcrich"}')

    assert "not UTF-8" in errors_of(platform)["1001.json"]


def test_a_byte_order_mark_is_accepted(folder: Path, platform: FilesPlatform) -> None:
    (folder / "1001.json").write_bytes('\ufeff{"name": "Zürich"}'.encode())

    got = platform.get(1001)

    assert got is not None
    assert got.record == {"name": "Zürich"}


def test_an_absent_or_null_id_is_fine(folder: Path, platform: FilesPlatform) -> None:
    write(folder, "1001.json", {"id": None, "name": "Ada"})
    write(folder, "1002.json", {"name": "Grace"})

    assert errors_of(platform) == {}


# -- a document read while a partner writes it in place -------------------------------

HALF_WRITTEN = ["", '{"name": "Ad']


def finish_later(path: Path, content: str | None, *, after: float = 0.2) -> threading.Timer:
    """``path`` rewritten with ``content`` (or removed, for None) ``after`` seconds on, as
    a partner writing in place finishes its write."""

    def finish() -> None:
        if content is None:
            path.unlink()
        else:
            path.write_text(content, encoding="utf-8")

    timer = threading.Timer(after, finish)
    timer.start()
    return timer


@pytest.mark.parametrize("torn", HALF_WRITTEN)
def test_a_document_read_half_written_is_read_again_once_written(
    folder: Path, platform: FilesPlatform, torn: str
) -> None:
    path = write(folder, "1001.json", torn)
    timer = finish_later(path, '{"name": "Ada"}')

    got = platform.get(1001)
    timer.join()

    assert got is not None and got.record == {"name": "Ada"}


@pytest.mark.parametrize("torn", HALF_WRITTEN)
def test_a_scan_hands_out_the_written_document_not_the_half_written_one(
    folder: Path, platform: FilesPlatform, torn: str
) -> None:
    write(folder, "1001.json", {"name": "Ada"})
    path = write(folder, "new-k1.json", torn)
    timer = finish_later(path, '{"name": "Grace"}')

    scanned = list(platform.scan())
    timer.join()

    assert [(r.key, r.record) for r in scanned if isinstance(r, LocalRecord)] == [
        ("1001", {"name": "Ada"}),
        ("k1", {"name": "Grace"}),
    ]
    assert [e for e in scanned if isinstance(e, LocalDataError)] == []


def test_a_new_document_read_half_written_is_read_again_once_written(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "new-k1.json", "")
    timer = finish_later(path, '{"name": "Grace"}')

    got = platform.get_new("k1")
    timer.join()

    assert got is not None and got.record == {"name": "Grace"}


def test_a_half_written_document_removed_meanwhile_is_gone(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "1001.json", "")
    timer = finish_later(path, None)

    got = platform.get(1001)
    timer.join()

    assert got is None


def test_a_document_malformed_for_good_is_still_reported_once_its_time_settles(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "1001.json", '{"name": "Ad')

    with pytest.raises(LocalDataError, match="invalid JSON"):
        platform.get(1001)
    # It was judged on a version whose time had settled, not on the first look.
    age_ns = time.time_ns() - (folder / "1001.json").stat().st_mtime_ns
    assert age_ns >= STAMP_RESOLUTION_NS


def test_while_it_waits_only_the_documents_status_is_polled(
    folder: Path, platform: FilesPlatform
) -> None:
    """A document unreadable for good is read twice in all (the first look and once
    settled), however long the wait: a large one is not read every 50 ms."""
    write(folder, "1001.json", '{"name": "Ad')

    with opened_in(folder) as opened, pytest.raises(LocalDataError):
        platform.get(1001)

    assert opened == ["1001.json", "1001.json"]


def test_a_time_is_settled_once_it_is_one_stamp_resolution_old(folder: Path) -> None:
    path = write(folder, "1001.json", {"name": "Ada"})
    second_ago = time.time_ns() - 1_000_000_000
    os.utime(path, ns=(second_ago, second_ago))

    default = FilesPlatform.from_options({"path": str(folder)}).get(1001)
    finer = FilesPlatform.from_options({"path": str(folder), "stamp_resolution": 0.5}).get(1001)

    assert default is not None and not default.settled  # 2 s by default
    assert finer is not None and finer.settled


@pytest.mark.parametrize("resolution", [0, -1, 61, "2", True, None])
def test_a_bad_stamp_resolution_is_refused_naming_it(folder: Path, resolution: object) -> None:
    with pytest.raises(ConfigError, match="seconds above 0") as caught:
        FilesPlatform.from_options({"path": str(folder), "stamp_resolution": resolution})
    assert caught.value.key == "local.stamp_resolution"


# -- writing ---------------------------------------------------------------------------


def test_documents_are_pretty_printed_utf8_in_the_given_key_order(
    folder: Path, platform: FilesPlatform
) -> None:
    platform.save(
        1001, {"name": "Zoë", "address": {"city": "Zürich"}, "id": 1001}, expected_modified=None
    )

    text = (folder / "1001.json").read_bytes().decode("utf-8")

    assert text == (
        '{\n  "name": "Zoë",\n  "address": {\n    "city": "Zürich"\n  },\n  "id": 1001\n}\n'
    )


def test_save_keeps_the_documents_keys_and_their_order(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "1001.json", {"zeta": 1, "name": "Ada", "platformOnly": {"x": [1, 2]}})
    read = platform.get(1001)
    assert read is not None

    platform.save(
        1001, {"name": "Ada King", "description": "new"}, expected_modified=read.modified_at
    )

    document = json.loads((folder / "1001.json").read_text(encoding="utf-8"))
    assert list(document) == ["zeta", "name", "platformOnly", "description"]
    assert document == {
        "zeta": 1,
        "name": "Ada King",
        "platformOnly": {"x": [1, 2]},
        "description": "new",
    }


def test_save_keeps_unmanaged_keys_of_array_items(folder: Path, platform: FilesPlatform) -> None:
    stored = contact(1001)
    stored["contactIndividuals"][0]["nickname"] = "Ada of the platform"
    write(folder, "1001.json", stored)
    read = platform.get(1001)
    assert read is not None

    platform.save(
        1001,
        {"contactIndividuals": [{"id": 10010, "firstName": "Augusta"}]},
        expected_modified=read.modified_at,
    )

    (individual,) = json.loads((folder / "1001.json").read_text())["contactIndividuals"]
    assert individual["firstName"] == "Augusta"
    assert individual["nickname"] == "Ada of the platform"
    assert individual["contactMethods"] == stored["contactIndividuals"][0]["contactMethods"]


def test_an_atomic_write_leaves_no_temporary_files(folder: Path, platform: FilesPlatform) -> None:
    created = platform.save(1001, contact(1001), expected_modified=None)
    platform.save(1001, {"name": "Ada King"}, expected_modified=created.modified_at)
    write(folder, "new-k1.json", contact(None))
    platform.link("k1", 3003)
    with pytest.raises(LocalConflictError):
        platform.save(1001, contact(1001), expected_modified=None)

    assert listing(folder) == ["1001.json", "3003.json"]


def test_a_failed_write_leaves_the_document_and_no_temporary_file(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "1001.json", {"name": "Ada"})
    read = platform.get(1001)
    assert read is not None
    before = (folder / "1001.json").read_bytes()

    with pytest.raises(ValueError):
        platform.save(1001, {"amount": float("nan")}, expected_modified=read.modified_at)

    assert (folder / "1001.json").read_bytes() == before
    assert listing(folder) == ["1001.json"]


def test_a_rewritten_document_keeps_its_permissions(folder: Path, platform: FilesPlatform) -> None:
    path = write(folder, "1001.json", {"name": "Ada"})
    path.chmod(0o640)
    read = platform.get(1001)
    assert read is not None

    platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_write_in_the_same_mtime_tick_still_changes_the_modification_time(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "1001.json", {"name": "Ada"})
    future = 4_102_444_800_000_000_000  # 2100: later than the write below will be stamped
    os.utime(path, ns=(future, future))
    read = platform.get(1001)
    assert read is not None

    saved = platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    assert saved.modified_at > read.modified_at
    with pytest.raises(LocalConflictError):
        platform.save(1001, {"name": "Someone"}, expected_modified=read.modified_at)


def test_a_change_within_the_same_mtime_is_still_a_conflict(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "1001.json", {"name": "Ada"})
    read = platform.get(1001)
    assert read is not None
    mtime_ns = path.stat().st_mtime_ns
    # The platform rewrites the file within the file system's timestamp granularity.
    path.write_text(json.dumps({"name": "Grace"}), encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))

    with pytest.raises(LocalConflictError):
        platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    assert json.loads(path.read_text()) == {"name": "Grace"}


def test_a_document_that_appeared_is_not_overwritten_by_a_create(
    folder: Path, platform: FilesPlatform
) -> None:
    assert platform.get(2002) is None
    write(folder, "2002.json", {"name": "made by the platform meanwhile"})

    with pytest.raises(LocalConflictError) as caught:
        platform.save(2002, contact(2002), expected_modified=None)

    assert caught.value.where == str(folder / "2002.json")
    assert json.loads((folder / "2002.json").read_text()) == {
        "name": "made by the platform meanwhile"
    }


def test_save_on_a_malformed_document_raises_and_keeps_its_bytes(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "1001.json", "{broken")
    before = path.read_bytes(), path.stat().st_mtime_ns
    modified = from_ns(before[1])

    with pytest.raises(LocalDataError, match="invalid JSON"):
        platform.save(1001, {"name": "Ada"}, expected_modified=modified)

    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_given_record_with_another_id_is_refused(folder: Path, platform: FilesPlatform) -> None:
    with pytest.raises(ValueError, match="disagrees"):
        platform.save(1001, {"id": 2002}, expected_modified=None)
    assert listing(folder) == []


# -- linking ---------------------------------------------------------------------------


def test_link_renames_the_new_document_without_changing_it(
    folder: Path, platform: FilesPlatform
) -> None:
    path = write(folder, "new-k1.json", contact(None))
    before = path.read_bytes(), path.stat().st_mtime_ns

    platform.link("k1", 3003)

    assert listing(folder) == ["3003.json"]
    after = folder / "3003.json"
    assert (after.read_bytes(), after.stat().st_mtime_ns) == before


def test_link_never_overwrites_an_existing_document(folder: Path, platform: FilesPlatform) -> None:
    write(folder, "3003.json", {"id": 3003, "name": "already here"})
    write(folder, "new-k1.json", {"name": "Alan"})

    with pytest.raises(LocalConflictError) as caught:
        platform.link("k1", 3003)

    assert caught.value.where == str(folder / "3003.json")
    assert json.loads((folder / "3003.json").read_text())["name"] == "already here"
    assert json.loads((folder / "new-k1.json").read_text())["name"] == "Alan"


def test_link_of_a_malformed_new_document_is_refused_and_nothing_moves(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "new-k1.json", "[]")

    with pytest.raises(LocalDataError):
        platform.link("k1", 3003)

    assert listing(folder) == ["new-k1.json"]


def test_an_interrupted_link_shows_once_and_is_finished_by_linking_again(
    folder: Path, platform: FilesPlatform
) -> None:
    write(folder, "new-k1.json", {"name": "Alan"})
    # A crash between the two steps of link(): both names on one file.
    os.link(folder / "new-k1.json", folder / "3003.json")

    assert [(r.key, r.contact_id) for r in records_of(platform)] == [("3003", 3003)]

    platform.link("k1", 3003)

    assert listing(folder) == ["3003.json"]


def test_an_interrupted_link_shows_once_when_its_linked_name_is_known_unread(
    folder: Path, platform: FilesPlatform
) -> None:
    """The scan keeps the inodes of linked documents with more than one name only: one
    it did not read (an ``UnchangedRecord``) still hides its new name."""
    write(folder, "new-k1.json", {"name": "Alan"})
    os.link(folder / "new-k1.json", folder / "3003.json")

    found = list(platform.scan_changed(lambda contact_id, modified_at: True))

    assert [(type(item).__name__, item.key) for item in found] == [("UnchangedRecord", "3003")]


def test_the_scan_hands_out_bad_names_then_linked_documents_by_id_then_new_ones(
    folder: Path, platform: FilesPlatform
) -> None:
    """By contact id, not by name ("10.json" sorts before "9.json"): the order a run
    keeps its contacts in (``engine.known_contacts``)."""
    for name in ("10.json", "new-b.json", "9.json", "bad.json", "100.json", "new-a.json"):
        write(folder, name, {"name": name})

    found = [
        Path(item.where).name if isinstance(item, LocalDataError) else item.key
        for item in platform.scan()
    ]

    assert found == ["bad.json", "9", "10", "100", "a", "b"]


def test_link_refuses_keys_that_would_leave_the_folder(platform: FilesPlatform) -> None:
    with pytest.raises(ValueError):
        platform.link("../elsewhere", 3003)


def test_link_of_a_vanished_new_document_names_it(folder: Path, platform: FilesPlatform) -> None:
    with pytest.raises(LocalConflictError) as caught:
        platform.link("gone", 3003)
    assert caught.value.where == str(folder / "new-gone.json")
