"""How each family is trained: one trainer module per family (its TRAIN_DEFAULTS and Trainer) and the
safetensors checkpoints. Imported only by the training CLI, `models.train`, never when serving."""
