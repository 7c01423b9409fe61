from .tampered_dice_loss import TamperedDiceLoss
from .weighted_cross_entropy_loss import WeightedCrossEntropyLoss

__all__ = ["TamperedDiceLoss", "WeightedCrossEntropyLoss"]
