"""`draftrender generate` and `draftrender providers`, as a user types them."""

from __future__ import annotations

from generation_clips import video_info

from draftrender.cli import main


def test_generate_writes_the_clip_then_takes_it_from_the_cache(tmp_path, capsys):
    out = tmp_path / "title.mp4"
    args = ["generate", "--model", "local-title", "--prompt", "春天 Spring", "--seconds", "1", "--size", "320x180",
            "--seed", "2", "-o", str(out), "--cache-dir", str(tmp_path / "cache"),
            "--providers", str(tmp_path / "none.toml")]
    assert main(args) == 1  # a named providers file must exist
    assert capsys.readouterr().err == f"draftrender: error: providers file {tmp_path / 'none.toml'} does not exist\n"
    args = args[:-2]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out == f"wrote {out} (local)\n"
    assert "completed 100 %" in captured.err.splitlines()[-1]
    assert video_info(out)[:2] == (320, 180)
    first = out.read_bytes()
    out.unlink()
    assert main(args) == 0
    assert capsys.readouterr().out == f"wrote {out} (local, from the cache)\n"
    assert out.read_bytes() == first


def test_generate_errors_are_one_line(tmp_path, capsys):
    base = ["generate", "-o", str(tmp_path / "x.mp4"), "--cache-dir", str(tmp_path)]
    cases = [
        (["--model", "local-title", "--prompt", "x", "--size", "big"],
         "--size: Value error, size must be WxH in pixels, like 1280x720 (got 'big')"),
        (["--model", "local-kenburns"], "local-kenburns needs at least one image (--image PATH|URL)"),
        (["--model", "sora-2"], "no provider serves model 'sora-2'"),
    ]
    for extra, message in cases:
        assert main(base + extra) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"draftrender: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "x.mp4").exists()


def test_providers_lists_the_file_and_the_local_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("I17_TEST_KEY", "sk-secret-123")
    file = tmp_path / "providers.toml"
    file.write_text('[providers.vg]\nkind = "vibegen"\nbase_url = "http://127.0.0.1:9"\n'
                    'key_env = "I17_TEST_KEY"\nmodels = ["seedance*"]\n'
                    '[providers.oa]\nkind = "openai"\nbase_url = "http://127.0.0.1:9"\nkey_env = "I17_UNSET_KEY"\n'
                    'models = ["sora-2*"]\n')
    assert main(["providers", "--providers", str(file)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:3] == ["vg: vibegen http://127.0.0.1:9", "  models: seedance*", "  key: set ($I17_TEST_KEY)"]
    assert lines[3].startswith("  unreachable: ClientConnectorError Cannot connect to host 127.0.0.1:9")
    assert "  key: missing (provider oa has no API key: set $I17_UNSET_KEY)" in out
    assert "local: local\n  models: local-kenburns, local-title\n" in out
    assert "sk-secret-123" not in out


def test_a_bad_providers_file_says_where(tmp_path, capsys):
    file = tmp_path / "providers.toml"
    file.write_text('[providers.vg]\nkind = "nope"\n')
    assert main(["providers", "--providers", str(file)]) == 1
    assert capsys.readouterr().err.startswith(
        f"draftrender: error: providers file {file}: [providers.vg] kind: Input should be")
