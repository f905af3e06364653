"""PyTorch training calls as data: optimizers, AMP scalers, gradient clipping."""

from __future__ import annotations

OPTIMIZER_PREFIX = "torch.optim."
SCHEDULER_PREFIX = "torch.optim.lr_scheduler."
SCALERS = frozenset({"torch.cuda.amp.GradScaler", "torch.amp.GradScaler", "torch.cpu.amp.GradScaler",
                     "torch.amp.grad_scaler.GradScaler"})
# Calls that clip gradients, by their last name: torch.nn.utils' and those of the training
# libraries that wrap them (Accelerate, Fabric).
CLIP_CALLS = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "clip_grad_value",
                        "clip_gradients"})
# Methods that return the model they are called on.
MODEL_METHODS = frozenset({"to", "cuda", "cpu", "train", "double", "float", "half", "bfloat16"})
# What the fix writes, after the file's name for torch.nn.utils.
CLIP_FUNCTION = "clip_grad_norm_"
# PyTorch Lightning's Trainer, and the argument that makes it clip.
LIGHTNING_TRAINERS = frozenset({
    "pytorch_lightning.Trainer", "pytorch_lightning.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
    "lightning.Trainer", "lightning.pytorch.Trainer", "lightning.pytorch.trainer.trainer.Trainer",
})
LIGHTNING_CLIP = "gradient_clip_val"
# A LightningModule that clips (or steps) itself: the Trainer's argument is not what decides.
LIGHTNING_SELF_CLIPPING = frozenset({"configure_gradient_clipping", "on_before_optimizer_step"})
# Hugging Face's Trainer clips at `max_grad_norm` (1.0 by default); 0 or None turns it off.
HF_TRAINERS = frozenset({"transformers.Trainer", "transformers.Seq2SeqTrainer", "transformers.trainer.Trainer",
                         "transformers.trainer_seq2seq.Seq2SeqTrainer"})
HF_ARGUMENTS = frozenset({"transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments",
                          "transformers.training_args.TrainingArguments"})
HF_CLIP = "max_grad_norm"
