"""addok's settings module, written next to the index by every process that opens it."""

from __future__ import annotations

import threading

import pytest

from locator.geocoding import addok_config


def test_the_settings_module_names_the_redis_it_is_given(tmp_path):
    redis = addok_config.redis_settings(unix_socket_path=str(tmp_path / "redis.sock"))
    path = addok_config.write(tmp_path / "index" / "addok_config.py", redis)
    text = path.read_text(encoding="utf-8")
    assert str(tmp_path / "redis.sock") in text
    assert text == addok_config.render(redis)


def test_processes_writing_the_settings_at_once_never_collide(tmp_path):
    # Each writer of the old code went through the same "addok_config.tmp": a second writer
    # renamed the first one's file away under it (FileNotFoundError) or published its text.
    path = tmp_path / "index" / "addok_config.py"
    errors = []
    start = threading.Barrier(16)

    settings = [addok_config.redis_settings(unix_socket_path=f"/run/locator-{n}.sock") for n in (0, 1)]
    texts = [addok_config.render(redis) for redis in settings]

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(50):  # two texts in turn: most rounds change the file
                addok_config.write(path, settings[(n + i) % 2])
        except OSError as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert path.read_text(encoding="utf-8") in texts  # one whole text, never a mix
    assert [p.name for p in path.parent.iterdir()] == ["addok_config.py"]  # no temporary left


def test_the_sqlite_document_store_is_named_with_its_file_and_redis_is_the_default(tmp_path):
    redis = addok_config.redis_settings(unix_socket_path="/run/r.sock")
    assert "DOCUMENT_STORE_PYPATH" not in addok_config.render(redis)  # addok's own: documents in Redis
    text = addok_config.render(redis, store="sqlite", sqlite_path=tmp_path / "documents.sqlite")
    assert "DOCUMENT_STORE_PYPATH = 'addok_sqlite_store.SQLiteStore'" in text
    assert f"SQLITE_DB_PATH = '{tmp_path / 'documents.sqlite'}'" in text


@pytest.mark.parametrize(("store", "path"), [("memcached", None), ("sqlite", None)])
def test_an_unknown_store_or_a_sqlite_store_without_its_file_is_refused(store, path):
    with pytest.raises(ValueError):
        addok_config.render(addok_config.redis_settings(unix_socket_path="/r"), store=store, sqlite_path=path)
