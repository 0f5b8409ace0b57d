"""The encoder's threads on a real encoder: pictures and sound written whole, failures handed back."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from test_encode import H, W, colour, decoded_video, flat, leftovers

from draftrender.errors import EncodeFailed
from draftrender.render.encode import VideoEncoder
from draftrender.render.encode_thread import EncodeThread


def test_the_threads_write_pictures_and_sound_whole_and_in_time(tmp_path):
    out = tmp_path / "threaded.mp4"
    encoder = EncodeThread(VideoEncoder(out, W, H, Fraction(25), audio_rate=48000))
    t = np.arange(48000) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for i in range(25):
        encoder.write_frame(flat(i))
        if i % 5 == 4:  # sound in blocks, as the render hands it over
            block = tone[(i - 4) * 1920:(i + 1) * 1920]
            encoder.write_audio(np.stack([block, block]))
    encoder.close()
    assert leftovers(tmp_path) == ["threaded.mp4"]
    _, frames = decoded_video(out)
    assert len(frames) == 25 and np.abs(frames[12][1][H // 2, W // 2].astype(int) - colour(12)).max() <= 6
    with av.open(str(out)) as f:
        sound = np.concatenate([fr.to_ndarray()[0] for fr in f.decode(audio=0)])
    assert abs(sound.size - 48000) <= 1024  # one second, give or take the encoder's priming
    assert 0.3 < np.abs(sound[4800:43200]).max() < 0.6


def test_a_failure_on_the_sound_thread_comes_back_and_abort_leaves_nothing(tmp_path):
    encoder = EncodeThread(VideoEncoder(tmp_path / "out.mp4", W, H, Fraction(25)))  # opened without sound
    encoder.write_frame(flat(0))
    encoder.write_audio(np.zeros((2, 1024), np.float32))  # fails on the sound thread
    with pytest.raises(EncodeFailed, match="without audio"):
        encoder.close()
    encoder.abort()
    assert leftovers(tmp_path) == []
