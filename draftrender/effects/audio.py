"""Sample maths for the mix: fades, cut ramps, the stereo downmix and the true-peak limiter.

Pure numpy over float samples shaped (channels, n). Times are µs offsets into a segment;
levels in dB are relative to full scale (dBFS, dBTP for true peak).
"""

from __future__ import annotations

import math

import numpy as np

# A cut ramps over this long: short enough to be inaudible, long enough that it never clicks.
CUT_RAMP_US = 5_000
MINUS_3_DB = math.sqrt(0.5)
# True-peak detection: 4× oversampling (ITU-R BS.1770 Annex 2) with this many taps per phase.
OVERSAMPLE = 4
TAPS_PER_PHASE = 16
# The limiter aims this far under its ceiling: the 4x detector reads a little low near 20 kHz
# and while the gain moves.
DETECTOR_MARGIN_DB = 0.2


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf


# ---------------------------------------------------------------- gain curves


def fade_gain(offsets: np.ndarray, duration: int, fade_in: int, fade_out: int) -> np.ndarray:
    """Linear fade-in and fade-out gain at `offsets` µs into a segment `duration` µs long. **(calibrate)**"""
    gain = np.ones(len(offsets))
    if fade_in > 0:
        gain *= np.clip(offsets / fade_in, 0.0, 1.0)
    if fade_out > 0:
        gain *= np.clip((duration - offsets) / fade_out, 0.0, 1.0)
    return gain


def cut_ramp(offsets: np.ndarray, duration: int, ramp: int = CUT_RAMP_US) -> np.ndarray:
    """Raised-cosine ramp from silence over `ramp` µs at both ends of a segment."""
    edge = np.clip(np.minimum(offsets, duration - offsets) / ramp, 0.0, 1.0)
    return np.sin(0.5 * np.pi * edge) ** 2


def ramp_out(samples: np.ndarray, n: int) -> None:
    """Fade the last `n` samples to silence in place: a sound that stops early must not click."""
    n = min(n, samples.shape[1])
    if n > 0:
        samples[:, -n:] *= np.cos(0.5 * np.pi * np.arange(1, n + 1) / n) ** 2


# ---------------------------------------------------------------- channels


def channel_weights(name: str) -> tuple[float, float]:
    """(left, right) weight of one channel in a stereo downmix (ITU-R BS.775 Lo/Ro)."""
    if name in ("FL", "FLC"):
        return 1.0, 0.0
    if name in ("FR", "FRC"):
        return 0.0, 1.0
    if name.startswith("LFE"):
        return 0.0, 0.0  # the downmix drops the LFE, as BS.775 does
    if name.endswith("L"):  # surrounds, backs, heights and wides of the left side
        return MINUS_3_DB, 0.0
    if name.endswith("R"):
        return 0.0, MINUS_3_DB
    return MINUS_3_DB, MINUS_3_DB  # centres


def downmix_matrix(channels: tuple[str, ...]) -> np.ndarray:
    """The (2, channels) matrix that maps a layout onto stereo.

    Mono plays at full level on both sides (dual mono, as editors play it) and two channels
    pass through whatever they are named; wider layouts fold down with centre and surrounds
    at -3 dB, unnormalised, so the front channels keep their level (the limiter guards overs).
    """
    if len(channels) == 1:
        return np.ones((2, 1), np.float32)
    if len(channels) == 2:
        return np.eye(2, dtype=np.float32)
    return np.array([channel_weights(c) for c in channels], np.float32).T


# ---------------------------------------------------------------- true peak


# Phase p at sample n estimates the signal at n - DETECTOR_DELAY + p / OVERSAMPLE.
DETECTOR_DELAY = TAPS_PER_PHASE // 2


def _interpolation_phases(beta: float = 8.0) -> np.ndarray:
    """(OVERSAMPLE, TAPS_PER_PHASE + 1) Kaiser-windowed sinc interpolators, one per phase."""
    half = OVERSAMPLE * DETECTOR_DELAY
    k = np.arange(TAPS_PER_PHASE + 1)
    rows = []
    for p in range(OVERSAMPLE):
        m = OVERSAMPLE * (k - DETECTOR_DELAY) + p  # oversampled steps from the centre tap
        window = np.i0(beta * np.sqrt(np.clip(1 - (m / half) ** 2, 0.0, None))) / np.i0(beta)
        rows.append(np.where(np.abs(m) <= half, np.sinc(m / OVERSAMPLE) * window, 0.0))
    return np.array(rows)


PHASES = _interpolation_phases()


def oversampled_peaks(history: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Per sample, the largest |value| over channels and the 4 oversampled phases.

    `history` holds the TAPS_PER_PHASE samples before `samples`; the result for sample n
    describes the signal around n - DETECTOR_DELAY.
    """
    x = np.concatenate([history, samples], axis=1).astype(np.float64)
    peaks = np.zeros(samples.shape[1])
    for channel in x:
        for phase in PHASES:
            np.maximum(peaks, np.abs(np.convolve(channel, phase, mode="valid")), out=peaks)
    return peaks


def sliding_max(x: np.ndarray, width: int) -> np.ndarray:
    """max(x[i:i + width]) for every full window, in O(n) (van Herk / Gil-Werman)."""
    n = len(x)
    blocks = -(-n // width)
    padded = np.full(blocks * width, -np.inf)
    padded[:n] = x
    rows = padded.reshape(blocks, width)
    prefix = np.maximum.accumulate(rows, axis=1).ravel()
    suffix = np.maximum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.maximum(suffix[: n - width + 1], prefix[width - 1: n])


class TruePeakLimiter:
    """Keeps the true peak under `ceiling_db` with a smooth gain instead of clipping.

    The gain at each sample is the lowest any peak needs within `hold_us` before it and the
    lookahead after it, then averaged over the lookahead: a moving average of values that are
    each low enough for a peak is itself low enough, so the ceiling holds with no overshoot.
    The output is late by `latency` samples: feed that many first and drop what comes back.
    """

    def __init__(self, rate: int, ceiling_db: float = -1.0, lookahead_us: int = 5_000, hold_us: int = 40_000,
                 channels: int = 2):
        self.ceiling = db_to_gain(ceiling_db - DETECTOR_MARGIN_DB)
        self.lookahead = max(1, round(lookahead_us * rate / 1e6))
        self.hold = round(hold_us * rate / 1e6)
        self.latency = self.lookahead + DETECTOR_DELAY
        self.min_gain = 1.0  # the deepest reduction so far, for the render's report
        self._history = np.zeros((channels, TAPS_PER_PHASE))
        self._delay = np.zeros((channels, self.latency), np.float32)
        self._peaks = np.zeros(2 * self.lookahead - 1 + self.hold)

    def process(self, samples: np.ndarray) -> np.ndarray:
        n = samples.shape[1]
        if n == 0:
            return samples.astype(np.float32)
        peaks = np.concatenate([self._peaks, oversampled_peaks(self._history, samples)])
        self._peaks = peaks[-len(self._peaks):]
        self._history = np.concatenate([self._history, samples], axis=1)[:, -TAPS_PER_PHASE:]
        need = np.minimum(1.0, self.ceiling / np.maximum(sliding_max(peaks, self.hold + self.lookahead), 1e-12))
        summed = np.concatenate([[0.0], np.cumsum(need[: n + self.lookahead - 1])])
        gain = (summed[self.lookahead:] - summed[: -self.lookahead]) / self.lookahead
        self.min_gain = min(self.min_gain, float(gain.min()))
        delayed = np.concatenate([self._delay, samples], axis=1)
        self._delay = delayed[:, n:]
        return (delayed[:, :n] * gain).astype(np.float32)
