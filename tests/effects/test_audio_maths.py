"""Sample maths for the mix: gain curves, the downmix, true peak and the limiter, on made-up signals."""

from __future__ import annotations

import numpy as np
import pytest

from draftrender.effects.audio import (
    MINUS_3_DB,
    TAPS_PER_PHASE,
    TruePeakLimiter,
    cut_ramp,
    downmix_matrix,
    fade_gain,
    oversampled_peaks,
    ramp_out,
    sliding_max,
)

RATE = 48_000



def true_peak(samples: np.ndarray) -> float:
    """The true peak (linear, 4× oversampled) of a whole signal."""
    tail = np.zeros((samples.shape[0], TAPS_PER_PHASE))
    return float(oversampled_peaks(tail, np.concatenate([samples, tail], axis=1)).max())

def band_limited_peak(x: np.ndarray, factor: int = 4, margin: int = 1000) -> float:
    """Peak of x oversampled by FFT interpolation, away from the ends (where the wrap-around rings)."""
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    wide = np.zeros(x.shape[:-1] + (n * factor // 2 + 1,), complex)
    wide[..., : spectrum.shape[-1]] = spectrum
    up = np.fft.irfft(wide, n * factor, axis=-1) * factor
    return float(np.abs(up[..., margin * factor: -margin * factor]).max())


def limited(x: np.ndarray, sizes=(1601, 1600, 7, 4800, 1602), **options) -> tuple[np.ndarray, TruePeakLimiter]:
    """Run x through a limiter in uneven blocks, with its latency taken off."""
    limiter = TruePeakLimiter(RATE, **options)
    padded = np.concatenate([x, np.zeros((2, limiter.latency), np.float32)], axis=1)
    out, at, i = [], 0, 0
    while at < padded.shape[1]:
        out.append(limiter.process(padded[:, at:at + sizes[i % len(sizes)]]))
        at += sizes[i % len(sizes)]
        i += 1
    return np.concatenate(out, axis=1)[:, limiter.latency:], limiter


def test_fades_are_linear_and_cut_ramps_start_and_end_silent():
    offsets = np.array([0.0, 150_000, 300_000, 500_000, 800_000, 1_000_000])
    assert fade_gain(offsets, 1_000_000, 300_000, 400_000).tolist() == [0.0, 0.5, 1.0, 1.0, 0.5, 0.0]
    ramp = cut_ramp(np.array([0.0, 2_500, 5_000, 500_000, 997_500, 1_000_000]), 1_000_000)
    assert ramp.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.5, 0.0])
    tail = np.ones((2, 10))
    ramp_out(tail, 4)
    assert tail[0, :6].tolist() == [1] * 6 and tail[0, -1] == pytest.approx(0) and np.all(np.diff(tail[0]) <= 0)


def test_downmix_keeps_fronts_folds_centre_and_surrounds_at_minus_3_db_and_drops_lfe():
    assert downmix_matrix(("FC",)).tolist() == [[1.0], [1.0]]  # dual mono
    assert downmix_matrix(("FL", "FR")).tolist() == [[1, 0], [0, 1]]
    h = MINUS_3_DB
    assert downmix_matrix(("FL", "FR", "FC", "LFE", "BL", "BR")) == pytest.approx(
        np.array([[1, 0, h, 0, h, 0], [0, 1, h, 0, 0, h]]))
    seven = downmix_matrix(("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"))
    assert seven[:, 6].tolist() == pytest.approx([h, 0]) and seven[:, 7].tolist() == pytest.approx([0, h])


def test_sliding_max_matches_the_plain_definition():
    x = np.random.default_rng(0).standard_normal(1000)
    for width in (1, 2, 7, 64, 1000):
        assert np.array_equal(sliding_max(x, width), [x[i:i + width].max() for i in range(len(x) - width + 1)])


def test_true_peak_sees_the_peak_between_samples():
    t = np.arange(RATE) / RATE
    # Samples at ±0.707, the wave between them at ±1; eased in and out, as an abrupt start rings.
    x = np.stack([np.sin(2 * np.pi * 12_000 * t + np.pi / 4) * np.minimum(1, np.minimum(t, 1 - t) / 0.01)] * 2)
    assert np.abs(x).max() == pytest.approx(MINUS_3_DB, abs=1e-3)
    assert true_peak(x) == pytest.approx(1.0, abs=0.002)


def test_the_limiter_leaves_a_signal_under_its_ceiling_untouched():
    x = (0.8 * np.random.default_rng(1).uniform(-1, 1, (2, RATE))).astype(np.float32)
    x[:, :: 2] *= 0.5  # keep the true peak well under -1 dBTP
    x *= 0.8 / true_peak(x)
    out, limiter = limited(x)
    assert np.array_equal(out, x) and limiter.min_gain == 1.0


@pytest.mark.parametrize("signal", ["tones", "noise", "burst"])
def test_the_limiter_holds_minus_1_dbtp_on_loud_band_limited_sound(signal):
    rng = np.random.default_rng(2)
    t = np.arange(2 * RATE) / RATE
    if signal == "tones":
        x = np.stack([np.sin(2 * np.pi * 997 * t) + np.sin(2 * np.pi * 12_000 * t + np.pi / 4)] * 2)
    elif signal == "noise":  # white up to 19 kHz, three times full scale
        spectrum = np.fft.rfft(rng.standard_normal((2, 2 * RATE)), axis=1)
        spectrum[:, int(spectrum.shape[1] * 0.8):] = 0
        x = np.fft.irfft(spectrum, 2 * RATE, axis=1)
        x *= 3 / np.abs(x).max()
    else:  # quiet, then a sudden loud tone: the lookahead must catch its first peak
        x = np.stack([np.where(t > 1, 2.0, 0.1) * np.sin(2 * np.pi * 440 * t)] * 2)
    out, limiter = limited(x.astype(np.float32))
    assert 20 * np.log10(band_limited_peak(out)) <= -1.0
    assert limiter.min_gain < 0.6
    if signal == "burst":
        assert np.array_equal(out[:, : RATE // 2], x[:, : RATE // 2].astype(np.float32))  # untouched before it
