"""The report's CNN (and its proposed CNN->RNN variant).

EmotionCNN: two convolution + pooling blocks over the 3 x 13 x frames feature stack, pooled over
time (so any clip length works), then three fully connected layers with ReLU and dropout before
the last. It regresses valence and arousal (sigmoid, 0-1) and, trained jointly as an auxiliary
task, the four quadrant logits. With `recurrent=True` a bidirectional GRU runs over the conv
features in time before pooling: the report's CNN->RNN proposal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..features import CHANNEL_ROWS, FEATURES


@dataclass
class CNNConfig:
    channels: tuple[int, int] = (32, 64)
    hidden: tuple[int, int] = (128, 64)
    dropout: float = 0.3
    recurrent: bool = False
    rnn_hidden: int = 64


class EmotionCNN(nn.Module):
    def __init__(self, config: CNNConfig = CNNConfig()):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.conv = nn.Sequential(
            nn.Conv2d(len(FEATURES), c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        per_step = c2 * (CHANNEL_ROWS // 4)
        if config.recurrent:
            self.rnn = nn.GRU(per_step, config.rnn_hidden, batch_first=True, bidirectional=True)
            per_step = 2 * config.rnn_hidden
        h1, h2 = config.hidden
        self.head = nn.Sequential(
            nn.Linear(2 * per_step, h1),
            nn.ReLU(),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(h2, 2 + 4),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, 3, 13, frames) -> valence/arousal (batch, 2) in 0-1, quadrant logits (batch, 4)."""
        h = self.conv(x)  # (batch, c2, 3, frames / 4)
        steps = h.flatten(1, 2).transpose(1, 2)  # (batch, time, features)
        if self.config.recurrent:
            steps, _ = self.rnn(steps)
        pooled = torch.cat([steps.mean(dim=1), steps.amax(dim=1)], dim=1)
        out = self.head(pooled)
        return torch.sigmoid(out[:, :2]), out[:, 2:]
