"""Every render option is defined once (draftrender/options.py): the CLI's flags, the service's
`options` checks and /openapi.json's `Options` schema all follow that definition."""

from __future__ import annotations

import av
import pytest
from pydantic import BaseModel, Field
from service_harness import publish, tiny_draft

from draftrender.cli import build_parser, main
from draftrender.errors import InvalidOption
from draftrender.options import EncodeSettings, RenderOptions, option_fields, render_options
from draftrender.server import openapi
from draftrender.server.openapi import documented, openapi_spec

NAMES = ("fps", "scale", "start", "end", "audio", "audio_rate", "loudness",
         "codec", "encoder", "crf", "preset", "bitrate", "audio_bitrate")


def test_the_options_are_the_models_user_fields():
    assert tuple(option_fields()) == NAMES
    opts = render_options({"crf": 30, "scale": 0.5, "audio_rate": 44100, "bitrate": None})
    assert (opts.encode.crf, opts.scale, opts.audio_rate, opts.encode.bitrate) == (30, 0.5, 44100, None)
    assert opts.encode.preset == EncodeSettings().preset and opts.fps is RenderOptions().fps


@pytest.mark.parametrize("options, message", [
    ({"crf": 60}, "option crf 60: input should be less than or equal to 51"),
    ({"scale": 0}, "option scale 0: input should be greater than or equal to 0.05"),
    ({"preset": "fastest"}, "option preset 'fastest': input should be 'ultrafast', 'superfast'"),
    ({"audio_rate": 44000}, "option audio_rate 44000: input should be 8000, 11025"),
    ({"start": 5, "end": 2}, "end (2) must come after start (5)"),
    ({"cache_dir": "/tmp"}, "unknown option(s) cache_dir; known: fps, scale,"),
])
def test_a_bad_option_is_named_with_what_it_must_be(options, message):
    with pytest.raises(InvalidOption) as caught:
        render_options(options)
    assert str(caught.value).startswith(message)
    assert (caught.value.status, caught.value.detail) == (400, "请求参数无效")


def test_every_option_is_a_flag_with_its_default_in_the_help(capsys):
    render = build_parser()._subparsers._group_actions[0].choices["render"]  # type: ignore[union-attr]
    help_text = " ".join(render.format_help().split())
    for name, info in option_fields().items():
        flag = f"--no-{name}" if info.annotation is bool else f"--{name.replace('_', '-')}"
        assert flag in help_text, flag
        if info.default not in (None, True):
            assert f"(default: {info.default})" in help_text, name
    assert main(["render", "nowhere.json", "--crf", "99"]) == 1
    assert capsys.readouterr().err == "draftrender: error: --crf 99: input should be less than or equal to 51\n"


def test_the_service_checks_options_and_renders_with_them(tmp_path, http_server, start_service):
    service = start_service()
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/options")
    bad = service.gen_video(url, options={"crf": 60, "audio_bitrate": 1})
    assert bad.status == 400 and bad.json["detail"] == "请求参数无效"
    assert bad.json["message"] == ("option crf 60: input should be less than or equal to 51; "
                                   "option audio_bitrate 1: input should be greater than or equal to 32000")
    done = service.gen_video(url, options={"audio": False, "scale": 0.5, "preset": "ultrafast"})
    assert done.status == 200, done.json
    assert done.json["options"] == {"audio": False, "preset": "ultrafast", "scale": 0.5}
    video = tmp_path / "out.mp4"
    video.write_bytes(service.download(done.json["video_url"]).body)
    with av.open(str(video)) as c:
        assert not c.streams.audio and (c.streams.video[0].width, c.streams.video[0].height) == (160, 90)


def test_openapi_documents_every_option(start_service):
    spec = start_service().call("GET", "/openapi.json").json
    options = spec["components"]["schemas"]["Options"]
    assert tuple(options["properties"]) == NAMES and options["additionalProperties"] is False
    crf = options["properties"]["crf"]
    assert (crf["type"], crf["minimum"], crf["maximum"], crf["default"]) == ("integer", 0, 51, 20)
    assert crf["description"] == option_fields()["crf"].description
    assert options["properties"]["preset"]["enum"][0] == "ultrafast"
    body = spec["paths"]["/v1/gen_video"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["options"] == {"$ref": "#/components/schemas/Options"}


class Greeting(BaseModel):
    """A greeting, in the language asked for."""

    text: str
    language: str = Field("en", description="BCP 47 tag")


class GreetingQuery(BaseModel):
    name: str = Field(description="who is greeted")


def test_a_route_documents_itself_with_its_models(monkeypatch):
    monkeypatch.setattr(openapi, "OPERATIONS", [])
    @documented("POST", "/v1/greetings/{id}", "Make a greeting", body=Greeting, query=GreetingQuery,
                responses={200: Greeting, 400: ("a bad greeting", None)}, tags=("test",))
    async def greet(request):  # pragma: no cover - never served
        raise NotImplementedError

    spec = openapi_spec("http://x", served={"/v1/greetings/{id}"})
    op = spec["paths"]["/v1/greetings/{id}"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Greeting"}
    assert op["responses"]["200"]["description"] == "A greeting, in the language asked for."
    assert op["responses"]["400"] == {"description": "a bad greeting"}
    assert [(p["name"], p["in"], p["required"]) for p in op["parameters"]] == [("id", "path", True),
                                                                               ("name", "query", True)]
    greeting = spec["components"]["schemas"]["Greeting"]
    assert greeting["properties"]["language"] == {"default": "en", "description": "BCP 47 tag",
                                                  "title": "Language", "type": "string"}
    assert "/v1/greetings/{id}" not in openapi_spec("http://x", served={"/v1/gen_video"})["paths"]
