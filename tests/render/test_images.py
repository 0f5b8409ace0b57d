"""ImageSource on stills and animations the tests make."""

from __future__ import annotations

import tracemalloc

import av
import numpy as np
import pytest
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter
from PIL import Image

from draftrender.errors import MaterialUnreachable
from draftrender.render import images
from draftrender.render.images import ImageSource
from draftrender.render.yuv import planes, yuv420


def test_still_png_is_rgba_and_the_same_array_every_time(tmp_path):
    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 128
    Image.fromarray(pixels).save(tmp_path / "still.png")
    image = ImageSource(tmp_path / "still.png")
    assert (image.width, image.height, image.animated, image.duration) == (40, 30, False, 0)
    first = image.frame_at(0)
    assert first.shape == (30, 40, 4) and first.dtype == np.uint8
    assert np.array_equal(first, pixels)
    assert image.frame_at(5_000_000) is first


def test_a_photo_is_copied_out_of_pillow_without_a_second_copy_at_the_peak(tmp_path, monkeypatch):
    # 1201×900 RGB is 3.1 MB: np.asarray(image) holds it twice at the peak (tobytes() joining
    # its chunks); copied in bands of 256 KB it is held once, and a band twice.
    y, x = np.mgrid[0:900, 0:1201]
    noise = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)  # compresses: a small file
    Image.fromarray(noise).save(tmp_path / "photo.png")
    monkeypatch.setattr(images, "PIXELS_BAND_BYTES", 256 * 1024)
    tracemalloc.start()
    try:
        picture = ImageSource(tmp_path / "photo.png").frame_at(0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(picture, noise)
    assert peak < 1.3 * noise.nbytes, f"{peak / noise.nbytes:.2f}× the picture at the peak"


def test_jpeg_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = ImageSource(tmp_path / "phone.jpg")
    assert (image.width, image.height) == (20, 40)
    frame = image.frame_at(0)
    assert frame[5, 10, 0] > 200 and frame[5, 10, 2] < 60  # the left edge is now the top
    assert frame[35, 10, 2] > 200 and frame.shape[2] == 3  # a JPEG has no alpha: it stays RGB


def test_a_large_still_comes_reduced_but_never_below_the_size_asked(tmp_path):
    Image.new("RGB", (400, 300), (10, 200, 30)).save(tmp_path / "big.png")
    image = ImageSource(tmp_path / "big.png")
    assert image.frame_at(0).shape == (300, 400, 3)
    reduced = image.frame_at(0, (90, 70))
    assert reduced.shape == (75, 100, 3) and tuple(reduced[30, 40]) == (10, 200, 30)
    assert image.frame_at(0, (90, 70)) is reduced  # each reduction is made once
    assert image.frame_at(0, (300, 200)) is image.frame_at(0)  # not big enough to reduce


def test_a_large_jpeg_is_decoded_at_the_reduced_size_only(tmp_path):
    # Left half red, right half blue, turned by EXIF: the reduction keeps both right.
    pixels = np.zeros((600, 800, 3), np.uint8)
    pixels[:, :400] = (230, 20, 20)
    pixels[:, 400:] = (20, 20, 230)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: 600×800 upright
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    image = ImageSource(tmp_path / "photo.jpg")
    assert (image.width, image.height) == (600, 800)
    reduced = image.frame_at(0, (140, 190))  # a quarter is still at least that big
    assert reduced.shape == (200, 150, 3)
    red, blue = reduced[20, 75].astype(int), reduced[180, 75].astype(int)  # top red, bottom blue
    assert np.abs(red - (230, 20, 20)).max() <= 8 and np.abs(blue - (20, 20, 230)).max() <= 8
    assert 1 not in image._stills  # the full-size picture was never decoded
    assert image.frame_at(0).shape == (800, 600, 3)


def test_a_photo_drawn_in_yuv_keeps_only_its_yuv_reduction(tmp_path):
    # Its RGB pixels (twice the bytes) are dropped once converted, the PNG's full decode too,
    # and made again from the file when the RGB path asks for them.
    pixels = np.zeros((300, 400, 3), np.uint8)
    pixels[:, :200] = (230, 20, 20)
    pixels[:, 200:] = (20, 20, 230)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    image = ImageSource(tmp_path / "photo.png")
    assert image.yuv_ready and len(image._stills) == 1  # the PNG's full decode, to reduce from
    picture, left, top = image.yuv_at(0, (100, 75))
    assert (picture.width, picture.height, left, top) == (100, 75, 0, 0)
    assert len(image._stills) == 0 and image._stills.bytes == 0  # no RGB kept beside it
    assert len(image._yuv_stills) == 1
    again = image.frame_at(0, (90, 70))
    assert again.shape == (75, 100, 3)
    assert tuple(again[37, 25]) == (230, 20, 20) and tuple(again[37, 75]) == (20, 20, 230)
    image.yuv_at(0, (96, 72))  # the same reduction by 4, scaled again
    assert image._yuv_stills.misses == 1  # the YUV reduction is not made again


def test_a_png_with_odd_sides_reduced_again_from_its_file_is_the_same_reduction(tmp_path):
    # Once drawn in YUV its full decode is dropped: an RGB reduction asked later is made from
    # the file, and must be the one made from the full picture (401 wide: 201 at a half).
    y, x = np.mgrid[0:301, 0:401]
    pixels = np.stack([x % 256, y % 256, (x * y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "odd.png")
    first = ImageSource(tmp_path / "odd.png").frame_at(0, (200, 150))
    assert first.shape == (151, 201, 3)
    image = ImageSource(tmp_path / "odd.png")
    image.yuv_at(0, (200, 150))
    assert len(image._stills) == 0
    assert np.array_equal(image.frame_at(0, (200, 150)), first)


def test_a_truncated_jpeg_is_unreachable_when_opened(tmp_path):
    Image.new("RGB", (400, 300), (10, 200, 30)).save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:200])
    with pytest.raises(MaterialUnreachable, match="cut.jpg"):
        ImageSource(tmp_path / "cut.jpg")


COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def write_gif(path):
    frames = [Image.new("RGB", (16, 12), c) for c in COLOURS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 0], loop=0)
    return path


@pytest.mark.parametrize("cache_bytes", [images.IMAGE_CACHE_BYTES, 1], ids=["kept", "on-demand"])
def test_animated_gif_loops_with_its_delays(tmp_path, monkeypatch, cache_bytes):
    monkeypatch.setattr(images, "IMAGE_CACHE_BYTES", cache_bytes)
    image = ImageSource(write_gif(tmp_path / "anim.gif"))
    assert image.animated and (image.width, image.height) == (16, 12)
    assert image.duration == 400_000  # a 0 ms delay plays as 100 ms
    for t, expected in [(0, 0), (99_999, 0), (100_000, 1), (299_999, 1), (300_000, 2), (400_000, 0), (950_000, 1)]:
        frame = image.frame_at(t)
        assert frame.shape == (12, 16, 4)
        assert tuple(frame[6, 8, :3]) == COLOURS[expected], t
    image.close()


def test_animated_webp(tmp_path):
    frames = [Image.new("RGBA", (16, 12), c + (255,)) for c in COLOURS]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], duration=50, lossless=True)
    image = ImageSource(tmp_path / "anim.webp")
    assert image.animated and image.duration == 150_000
    assert tuple(image.frame_at(60_000)[0, 0]) == (0, 255, 0, 255)


def test_broken_image_is_unreachable_and_named(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"nonsense" * 20)
    with pytest.raises(MaterialUnreachable, match="bad.png"):
        ImageSource(tmp_path / "bad.png")


def test_a_png_whose_alpha_is_opaque_everywhere_is_an_opaque_photo(tmp_path):
    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[..., 1], pixels[..., 3] = 200, 255
    Image.fromarray(pixels).save(tmp_path / "opaque.png")
    pixels[0, 0, 3] = 254
    Image.fromarray(pixels).save(tmp_path / "translucent.png")
    opaque, translucent = ImageSource(tmp_path / "opaque.png"), ImageSource(tmp_path / "translucent.png")
    assert opaque.frame_at(0).shape == (30, 40, 3) and opaque.yuv_ready
    assert translucent.frame_at(0).shape == (30, 40, 4) and not translucent.yuv_ready


@pytest.mark.parametrize("size", [(401, 301), (1001, 667), (77, 6)])
def test_an_odd_width_reduction_converts_to_the_same_planes_whatever_bytes_follow_it(tmp_path, size):
    # A photo's RGB reduction is converted from the array itself, with none of FFmpeg's padding
    # after its last row: SwScale's 2-pixel chroma input at an odd width must not read what follows.
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    Image.fromarray(np.stack([x % 256, y % 256, (x * y) % 256], axis=-1).astype(np.uint8)).save(tmp_path / "odd.png")
    reduction = ImageSource(tmp_path / "odd.png").frame_at(0, (w // 2, h // 2))
    assert reduction.shape[1] % 2 == 1
    converted = []
    for after in (0, 255):
        buffer = np.full(reduction.nbytes + 64, after, np.uint8)
        rgb = buffer[:reduction.nbytes].reshape(reduction.shape)
        rgb[:] = reduction
        converted.append([plane.copy() for plane in planes(yuv420(rgb, VideoReformatter()))])
    copied = VideoReformatter().reformat(av.VideoFrame.from_ndarray(np.array(reduction), format="rgb24"),
                                         format="yuv420p", dst_colorspace=Colorspace.ITU709,
                                         dst_color_range=ColorRange.MPEG)
    for a, b, c in zip(*converted, planes(copied), strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)
