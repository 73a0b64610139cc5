"""FFmpeg filter chains for the `effects[]` catalog, the colour fields and the blend modes.

Every builder returns a linear filter chain (comma-separated filters) that works on an element's
frames. The compiler strips the alpha channel before these chains and merges it back afterwards,
so a chain may change pixel formats freely; only `chroma_key` produces alpha and is applied first.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

DUOTONE_DARK = (29, 26, 107)
DUOTONE_LIGHT = (255, 111, 145)
SEPIA_MATRIX = ((0.393, 0.769, 0.189), (0.349, 0.686, 0.168), (0.272, 0.534, 0.131))


@dataclass(frozen=True)
class EffectContext:
    """What an effect builder may depend on besides its own parameters."""

    width: int
    height: int


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def sepia(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Sepia tone: the classic sepia matrix, interpolated from identity by intensity."""
    names = ("r", "g", "b")
    terms = []
    for row, out in enumerate(names):
        for col, src in enumerate(names):
            identity = 1.0 if row == col else 0.0
            terms.append(f"{out}{src}={_lerp(identity, SEPIA_MATRIX[row][col], strength):.4f}")
    return "colorchannelmixer=" + ":".join(terms)


def vintage(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Faded film look: the `vintage` tone curve and a vignette."""
    return "curves=preset=vintage,vignette=angle=PI/4"


def invert(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Colour negative, blended with the original by intensity."""
    return f"lutrgb=r='val+(maxval-2*val)*{strength:.4f}':g='val+(maxval-2*val)*{strength:.4f}':b='val+(maxval-2*val)*{strength:.4f}'"


def box_blur(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Box blur with a radius growing with intensity."""
    radius = max(1, round(strength * min(ctx.width, ctx.height) / 20))
    return f"avgblur=sizeX={radius}:sizeY={radius}"


def posterize(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Fewer colour levels per channel: 32 levels at intensity 0 down to 2 at 100."""
    levels = max(2, round(_lerp(32, 2, strength)))
    step = 256 / levels
    expr = f"floor(val/{step:.4f})*{255 / (levels - 1):.4f}"
    return f"lutrgb=r='{expr}':g='{expr}':b='{expr}'"


def mosaic(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Pixelation into square blocks whose size grows with intensity."""
    block = max(2, round(strength * min(ctx.width, ctx.height) / 8))
    small_w = max(1, ctx.width // block)
    small_h = max(1, ctx.height // block)
    return f"scale={small_w}:{small_h}:flags=area,scale={ctx.width}:{ctx.height}:flags=neighbor"


def rgb_split(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Red shifted left and blue shifted right."""
    shift = max(1, round(strength * ctx.width / 30))
    return f"rgbashift=rh=-{shift}:bh={shift}:edge=smear"


def chromatic_aberration(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Lens-like colour fringing: the chroma planes displaced diagonally in opposite directions."""
    shift = max(1, round(strength * ctx.width / 40))
    return f"format=yuv444p,chromashift=cbh={shift}:cbv={shift}:crh=-{shift}:crv=-{shift}:edge=smear"


def add_grain(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Temporal luma film grain."""
    amount = max(1, round(strength * 40))
    return f"format=yuv444p,noise=c0s={amount}:c0f=t+u"


def night_vision(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Green monochrome with boosted contrast, grain and a vignette."""
    return (
        "hue=s=0,colorchannelmixer=rr=0.1:rg=0:rb=0:gr=0:gg=1:gb=0:br=0:bg=0:bb=0.1,"
        "eq=contrast=1.3:brightness=0.05,format=yuv444p,noise=c0s=12:c0f=t,vignette=angle=PI/4"
    )


def thermal(strength: float, effect: dict, ctx: EffectContext) -> str:
    """False-colour heat map of the luminance: blue in the shadows to yellow-white highlights."""
    x = "(val/255)"
    red = f"255*clip(2*{x}-0.2,0,1)"
    green = f"255*clip(2*{x}-1,0,1)"
    blue = f"255*clip(1-abs(2*{x}-0.4)*2.5,0,1)"
    return f"hue=s=0,lutrgb=r='{red}':g='{green}':b='{blue}'"


def scanlines(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Dark horizontal lines every few rows, like a CRT."""
    period = max(2, round(ctx.height / 90) * 2)
    return f"format=rgb24,drawgrid=w=iw:h={period}:t={period // 2}:c=black@{0.7 * strength:.3f}"


def duotone(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Luminance mapped onto a dark-indigo to pink gradient."""
    channels = []
    for name, dark, light in zip("rgb", DUOTONE_DARK, DUOTONE_LIGHT, strict=True):
        channels.append(f"{name}='{dark}+({light - dark})*val/255'")
    return "hue=s=0,lutrgb=" + ":".join(channels)


def chroma_key(strength: float, effect: dict, ctx: EffectContext) -> str:
    """Key out a colour range (green by default) into transparency.

    `chroma_settings` gives hue in degrees and saturation/luminance in 0–1; the key colour is the
    centre of those ranges and the similarity grows with the hue span and with intensity.
    """
    settings = effect.get("chroma_settings") or {}
    hue_min = float(settings.get("hue_min", 90))
    hue_max = float(settings.get("hue_max", 150))
    sat = (float(settings.get("sat_min", 0.3)) + float(settings.get("sat_max", 1.0))) / 2
    lum = (float(settings.get("lum_min", 0.2)) + float(settings.get("lum_max", 0.8))) / 2
    hue = ((hue_min + hue_max) / 2) % 360
    r, g, b = colorsys.hls_to_rgb(hue / 360, min(max(lum, 0), 1), min(max(sat, 0), 1))
    similarity = min(0.9, max(0.05, abs(hue_max - hue_min) / 360 + 0.2 * strength))
    color = f"0x{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
    return f"format=yuva444p,chromakey=color={color}:similarity={similarity:.3f}:blend=0.05,format=rgba"


def brightness(value: float, ctx: EffectContext) -> str:
    """Additive brightness, −1 (black) to 1 (white)."""
    return f"eq=brightness={value:.4f}"


def contrast(value: float, ctx: EffectContext) -> str:
    """Contrast around mid-grey, −1 (flat grey) to 1 (double)."""
    return f"eq=contrast={1 + value:.4f}"


def saturation(value: float, ctx: EffectContext) -> str:
    """Saturation, −1 (greyscale) to 1 (double)."""
    return f"eq=saturation={1 + value:.4f}"


def exposure(value: float, ctx: EffectContext) -> str:
    """Exposure in thirds of the filter's ±3 stops, −1 to 1."""
    return f"format=gbrpf32,exposure=exposure={3 * value:.4f},format=gbrp"


def hue_rotate(value: float, ctx: EffectContext) -> str:
    """Hue rotation in degrees."""
    return f"hue=h={value:.4f}"


def blur(value: float, ctx: EffectContext) -> str:
    """Gaussian blur, 0–100 (100 = sigma of a tenth of the shorter side)."""
    sigma = value / 100 * min(ctx.width, ctx.height) / 10
    return f"gblur=sigma={sigma:.4f}"


def noise(value: float, ctx: EffectContext) -> str:
    """Temporal luma noise, 0–100."""
    return f"format=yuv444p,noise=c0s={round(value * 0.6)}:c0f=t+u"


def vignette(value: float, ctx: EffectContext) -> str:
    """Darkened corners, 0–100 (100 = the filter's widest angle)."""
    return f"vignette=angle={value / 100 * 1.5707:.4f}"


def sharpness(value: float, ctx: EffectContext) -> str:
    """Unsharp mask, 0–100 (100 = amount 3)."""
    return f"unsharp=lx=5:ly=5:la={value / 100 * 3:.4f}"


# FFmpeg's `overlay` is decided by its first input and `hardlight` by its second, the reverse of
# the usual naming when the first input is the top layer, so the two swap here.
BLEND_MODES = {
    "multiply": "multiply",
    "screen": "screen",
    "overlay": "hardlight",
    "darken": "darken",
    "lighten": "lighten",
    "color_dodge": "dodge",
    "color_burn": "burn",
    "hard_light": "overlay",
    "soft_light": "softlight",
}


def blend_mode_filter(mode: str) -> str:
    """The `blend` filter for compositing a layer (first input) onto the base (second input)."""
    return f"blend=all_mode={BLEND_MODES[mode]}"
