"""The encoder's threads: the pictures and the sound are encoded beside the compositing.

`Worker` runs calls in order on a thread of its own; `EncodeThread` puts a VideoEncoder's
writes on two of them (the video and its muxing, the sound's AAC encoding).
"""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

from draftrender.errors import EncodeFailed

from .encode import VideoEncoder


class Worker:
    """A thread that runs calls in the order they are handed over, through a bounded queue.
    After a failure it skips what is left, still taking calls, so that no caller blocks; the
    failure comes back from the next put()."""

    def __init__(self, name: str, depth: int):
        self.busy = 0.0  # wall seconds spent running calls
        self.failure: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self._thread.start()

    def put(self, call, *args) -> None:
        while True:
            if self.failure is not None:
                raise self.failure
            try:
                self._queue.put((call, args), timeout=0.1)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise EncodeFailed(f"the thread {self._thread.name} stopped") from None

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.failure is not None:
                continue
            call, args = item
            t0 = time.perf_counter()
            try:
                call(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                self.failure = e
            self.busy += time.perf_counter() - t0

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def drop(self, reason: BaseException) -> None:
        """Throw away what is queued and fail what comes next."""
        self.failure = self.failure or reason
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


class EncodeThread:
    """Runs an encoder's writes on threads of their own, so the next frame is composited
    while this one is converted and encoded: PyAV releases the GIL in SwScale and in the
    codecs, so they overlap on separate cores. The sound is encoded on a second thread
    beside the pictures (AAC costs about a second per 30 s of sound, on a thread the video
    encoder would otherwise wait on); its packets are muxed by the video thread, between
    frames, so one thread only writes the file.

    Frames handed over must not be written to afterwards. A failure in a thread comes back
    as the exception of the next write, or of close().
    """

    DEPTH = 3  # frames in flight: enough to smooth the pace, few enough to keep memory flat
    AUDIO_DEPTH = 2  # blocks of sound (AUDIO_EVERY frames each) waiting for the AAC encoder

    def __init__(self, encoder: VideoEncoder):
        self.encoder = encoder
        self._video = Worker("draftrender-encode", self.DEPTH)
        self._audio = Worker("draftrender-encode-audio", self.AUDIO_DEPTH)
        self._closing = 0.0
        self._aac = 0.0  # CPU seconds in the AAC encoder

    @property
    def busy(self) -> float:
        """Wall seconds the video thread spent encoding and muxing, and close() flushing."""
        return self._video.busy + self._closing

    @property
    def audio_busy(self) -> float:
        """CPU seconds the sound thread spent encoding AAC (beside the video thread). Not its
        Worker's busy time: that also counts the waits to hand the packets to the video
        thread, whose queue is full whenever the render is bound by the video encoder; and
        CPU time, as this is what the sound takes from the cores the pictures need."""
        return self._aac

    def write_frame(self, frame) -> None:
        self._raise_failure()
        self._video.put(self.encoder.write_frame, frame)

    def write_audio(self, samples: np.ndarray) -> None:
        self._raise_failure()
        self._audio.put(self._encode_audio, samples)

    def _encode_audio(self, samples: np.ndarray) -> None:
        t0 = time.thread_time()  # FFmpeg's AAC encoder runs on the calling thread only
        packets = self.encoder.encode_audio(samples)
        self._aac += time.thread_time() - t0
        self._video.put(self.encoder.mux, packets)

    def _raise_failure(self) -> None:
        failure = self._video.failure or self._audio.failure
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Wait for every write, then finish the file (VideoEncoder.close)."""
        self._audio.stop()  # first: its last packets go through the video thread
        self._video.stop()
        self._raise_failure()
        t0 = time.perf_counter()
        self.encoder.close()
        self._closing = time.perf_counter() - t0

    def abort(self) -> None:
        """Drop what is queued, stop the threads and delete the temp file."""
        aborted = EncodeFailed("aborted")
        for worker in (self._audio, self._video):
            worker.drop(aborted)
        self._audio.stop()
        self._video.stop()
        self.encoder.abort()
