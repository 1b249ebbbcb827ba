#!/usr/bin/env python3
"""Lesson torch_16, PyTorch original: the PyTorch examples repository's mnist/main.py.

The network and recipe of that example, unchanged except for the data and the number of epochs:
  Conv2d(1, 32, 3, 1) -> relu -> Conv2d(32, 64, 3, 1) -> relu -> max_pool2d(2) -> Dropout(0.25)
  -> flatten -> Linear(9216, 128) -> relu -> Dropout(0.5) -> Linear(128, 10) -> log_softmax,
  trained with nll_loss, Adadelta(lr=1.0) and StepLR(step_size=1, gamma=0.7) stepped once per
  epoch; batches of 64, shuffled every epoch; test batches of 1000; pixels scaled to [0, 1] and
  normalized with mean 0.1307 and std 0.3081 (what ToTensor() + Normalize() do).
The digits are the 8,000 / 2,000 MNIST sample in ../shared/data/mnist-sample (relative to the
repository root), read from the IDX .gz files with numpy (no torchvision, no download).
The example trains for 14 epochs on the full 60,000 digits; here the default is 2 epochs.

Run (PyTorch is not a project dependency; the CPU build is enough):
    /tmp/anchors-venv/bin/python tools/lessons/torch_16_adadelta_mnist.py [--seed 1] [--epochs 2] [--threads 2]
It prints the training loss every 10 batches as the example does, each epoch's test loss,
accuracy and time, and finally `final test accuracy: <fraction>`.
"""
import argparse
import gzip
import pathlib
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

ROOT = pathlib.Path(__file__).resolve().parents[2]
MNIST = ROOT.parent / "shared" / "data" / "mnist-sample"


def read_idx(path):
    """gzip-compressed IDX: big-endian magic (0x0000, dtype code 0x08 = uint8, ndim), dims, data."""
    raw = gzip.decompress(path.read_bytes())
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, f"{path}: not a uint8 IDX file"
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, data_dir):
    """Images as float32 [N, 1, 28, 28], ToTensor() (x / 255) then Normalize((0.1307,), (0.3081,))."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - 0.1307) / 0.3081
    return TensorDataset(x, torch.from_numpy(labels.astype(np.int64)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(model, loader, optimizer, epoch, log_interval=10):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(loader.dataset)} "
                  f"({100.0 * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}")


def test(model, loader):
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(loader.dataset)
    test_loss /= n
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{n} ({100.0 * correct / n:.0f}%)\n")
    return correct / n


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST example (Adadelta + StepLR) on the MNIST sample")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--data", type=pathlib.Path, default=MNIST)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train_set, test_set = load("train", args.data), load("test", args.data)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size, shuffle=False)

    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train(model, train_loader, optimizer, epoch)
        accuracy = test(model, test_loader)
        print(f"epoch {epoch}: test accuracy {accuracy:.4f}, lr {scheduler.get_last_lr()[0]:.4g}, "
              f"{time.perf_counter() - start:.1f} s")
        scheduler.step()
    print(f"final test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
