"""Segmentation networks."""

from lungnet.models.unet import DoubleConv, UNet

__all__ = ["DoubleConv", "UNet"]
