"""The seed reports' setups, each naming its source and its deviations."""
from __future__ import annotations

from gen_core.presets.base import Preset


# ---------------------------------------------------------------------------
# Seed 000 — UCLA STATS M231A, Fall 2021. §1.4.1 linear GAN, §1.4.2 DCGAN, §1.4.3 VAE.
# ---------------------------------------------------------------------------
_S000 = "Seed report 000 (UCLA STATS M231A/CS M276A, Fall 2021)"


# Seed 000's pictures: "we sampled 25 samples … before training" (Fig. 7, every 2nd epoch) and
# "the standard normal distribution was divided to 10 sections" (Fig. 8, a 10×10 latent grid).
_REPORT_PICTURES = dict(n_fixed=25, latent_map_size=10)


_SEED000 = [
    Preset(
        name="seed000-linear-gan",
        title="Linear GAN, 2-D latent (seed report 000)",
        source=f"{_S000}, §1.4.1 Linear GAN on MNIST",
        family="gan",
        model="mlp-gan",
        # §1.4.1 "Generator/Discriminator Structure" listings; "latent space dimension was set to 2".
        model_overrides=dict(latent_dim=2, g_hidden=(256, 512, 1024), d_hidden=(1024, 512, 256),
                             dropout=0.3, leaky_slope=0.2, batch_norm=False),
        # §1.4.1 "trained for 20 epochs with a learning rate of 0.0005"; pictures as in Figs 7-8.
        train_overrides=dict(epochs=20, lr_g=5e-4, lr_d=5e-4, **_REPORT_PICTURES),
        note=("Report: G z(2) → 256 → 512 → 1024 → 784 with LeakyReLU(0.2) and Tanh; "
              "D 784 → 1024 → 512 → 256 → 1 with LeakyReLU(0.2), Dropout(0.3) and Sigmoid; "
              "20 epochs at learning rate 0.0005 (raised from the tutorial's because lower rates "
              "did not converge). mlp-gan matches it layer for layer; the one stated rate is used for "
              "both G and D. Silent on batch size, Adam betas and the generator loss: defaults "
              "(batch 128, beta1 0.5, non-saturating BCE)."),
    ),
    Preset(
        name="seed000-dcgan",
        title="DCGAN 64×64, ngf = ndf = 128 (seed report 000)",
        source=f"{_S000}, §1.4.2 DCGAN on MNIST",
        family="gan",
        model="dcgan-64",
        # §1.4.2: latent 100, ngf = 128, ndf = 128, MNIST "resized to be 64x64".
        model_overrides=dict(image_size=64, latent_dim=100, g_width=128, d_width=128),
        # §1.4.2 "trained for 10 epochs with a learning rate of 0.0002".
        train_overrides=dict(epochs=10, lr_g=2e-4, lr_d=2e-4, **_REPORT_PICTURES),
        note=("Report: the pytorch/examples DCGAN (G: ConvT to 4×4 with 8·ngf, then 4·ngf, 2·ngf, ngf, "
              "Tanh; D: the mirror with BatchNorm and LeakyReLU(0.2)), ngf = ndf = 128, latent 100, "
              "MNIST resized to 64×64, 10 epochs at lr 0.0002. dcgan-64 is the same network. Silent on "
              "batch size and Adam betas: defaults (batch 128, beta1 0.5). About 24M parameters: slow on a CPU."),
    ),
    Preset(
        name="seed000-vae",
        title="MLP VAE, 2-D latent (seed report 000)",
        source=f"{_S000}, §1.4.3 VAE on MNIST",
        family="vae",
        model="mlp-vae",
        # §1.4.3 encoder Linear(784, 512) → Linear(512, 256) → heads to zDim = 2; decoder mirrors it.
        model_overrides=dict(latent_dim=2, hidden=(512, 256)),
        # §1.4.3 "trained for 10 epochs with a learning rate of 0.001".
        train_overrides=dict(epochs=10, lr=1e-3, **_REPORT_PICTURES),
        note=("Report: encoder 784 → 512 → 256 → (mu, log sigma) with zDim 2, ReLU; decoder "
              "2 → 256 → 512 → 784 with Sigmoid; 10 epochs at lr 0.001. mlp-vae is the same network "
              "(its second head predicts log-variance instead of log sigma, an equivalent "
              "parameterisation). Silent on batch size and reconstruction loss: defaults (batch 128, BCE)."),
    ),
]


# ---------------------------------------------------------------------------
# Seed 001 — VU Amsterdam Deep Learning, Assignment 5. Part 2 (Implementation),
# Part 3 (Analysis), Appendix A listings 1 (VAE) and 3 (GAN).
# ---------------------------------------------------------------------------
_S001 = "Seed report 001 (VU Amsterdam Deep Learning, Assignment 5)"


_SEED001 = [
    Preset(
        name="seed001-vae",
        title="MLP VAE, 16-D latent (seed report 001)",
        source=f"{_S001}, Part 2 'VAE' and Appendix A, Listing 1",
        family="vae",
        model="mlp-vae",
        # Listing 1: enc 784 → 512 → 256 → 32 (= mu ‖ logvar of a 16-D latent); dec 16 → 256 → 512 → 784.
        model_overrides=dict(latent_dim=16, hidden=(512, 256)),
        # Part 2: Adam, BCE, "learning rate was set to 0.001 and a batchsize of 64";
        # Part 3 / Discussion: 30 epochs on MNIST.
        train_overrides=dict(epochs=30, batch_size=64, lr=1e-3, recon_loss="bce"),
        note=("Report: linear layers with ReLU — encoder 784 → 512 → 256 → 32 (mu and logvar of a "
              "16-D latent), decoder 16 → 256 → 512 → 784; Adam, BCE, lr 0.001, batch 64; curves over "
              "30 epochs (Part 3; the Discussion's '30 and 50 epochs' are MNIST and Imagenette). "
              "mlp-vae's two 256 → 16 heads hold exactly the parameters of the report's single 256 → 32 "
              "layer: 1,079,600 in all, the count the report gives."),
    ),
    Preset(
        name="seed001-gan",
        title="Small MLP GAN, 64 → 256 → 784 (seed report 001)",
        source=f"{_S001}, Part 3 'GAN' and Appendix A, Listing 3",
        family="gan",
        model="mlp-gan",
        # Listing 3: G Linear(64, 256), LeakyReLU(0.01), Linear(256, 784), Tanh;
        #            D Linear(784, 128), LeakyReLU(0.01), Linear(128, 1), Sigmoid. No dropout, no batch-norm.
        model_overrides=dict(latent_dim=64, g_hidden=(256,), d_hidden=(128,),
                             dropout=0.0, leaky_slope=0.01, batch_norm=False),
        # Part 3 'GAN': "The training was done for 30 epochs with Adam optimizer".
        train_overrides=dict(epochs=30),
        note=("Report: G 64 → 256 → 784 with LeakyReLU(0.01) and Tanh; D 784 → 128 → 1 with "
              "LeakyReLU(0.01) and Sigmoid; 30 epochs with Adam. mlp-gan matches it layer for layer "
              "(318,737 parameters). Silent on learning rate, batch size and betas: defaults "
              "(lr_g = lr_d = 2e-4, batch 128, beta1 0.5). The Discussion quotes 1,256,698 GAN "
              "parameters, which does not match its own Listing 3; we follow the listing."),
    ),
]


# ---------------------------------------------------------------------------
# Seed 002 — progress reports (Keras), Feb 2023. Week 3 "Implementation of VAE for
# MNIST Dataset"; week 4 "Observed results for fashion MNIST"; week 5 "Network Size".
# ---------------------------------------------------------------------------
_S002 = "Seed report 002 (project progress reports, Feb 2023)"


_SEED002 = [
    Preset(
        name="seed002-conv-vae",
        title="Conv VAE, 3-D latent (seed report 002)",
        source=f"{_S002}, 'Implementation of VAE for MNIST Dataset' (Architecture, Results)",
        family="vae",
        model="conv-vae",
        # "two convolutional layers of size 32 and 64"; "size of latent dimensions (3 in this case)".
        model_overrides=dict(latent_dim=3, conv_channels=(32, 64)),
        # Results: "30 epochs with a batch size of 128".
        train_overrides=dict(epochs=30, batch_size=128),
        note=("Report: encoder with two convolutions (32, 64 channels) flattened into a dense layer, "
              "3-D latent, decoder mirroring it with transposed convolutions; 30 epochs, batch 128. "
              "Silent on kernel sizes, the dense layer's width, learning rate and reconstruction loss: "
              "conv-vae's 4×4 stride-2 convolutions, hidden 256, lr 1e-3 (also Keras Adam's default) "
              "and BCE."),
    ),
    Preset(
        name="seed002-conv-vae-fashion",
        title="Conv VAE on Fashion-MNIST, 2-D latent (seed report 002)",
        source=f"{_S002}, 'Observed results for fashion MNIST dataset' and 'Network Size' tables",
        family="vae",
        model="conv-vae",
        # "8 parameters … for GAN and 2 for VAE"; the Network Size tables: Conv2D 32 → Conv2D 64 →
        # Flatten → Dense(4) (= mu ‖ logvar of 2); decoder Dense → 7×7×64 → ConvT 64 → ConvT 32 → ConvT 1.
        model_overrides=dict(latent_dim=2, conv_channels=(32, 64)),
        train_overrides=dict(dataset="fashion-mnist"),
        note=("Report: the MNIST conv VAE retrained on Fashion-MNIST with a 2-D latent. The 'Network Size' "
              "tables (the VAE's: ~90k parameters, and Dense(4) = mu and logvar of 2) give encoder "
              "Conv2D 32 (3×3, 28 → 13) → Conv2D 64 (13 → 6) → Flatten → Dense(4), decoder "
              "Dense → 7×7×64 → ConvT 64 → ConvT 32 → ConvT 1. Deviations: 4×4 padded kernels here "
              "(28 → 14 → 7); conv-vae keeps a hidden dense layer (default 256) the table lacks; our "
              "decoder has two transposed convolutions (64 → 32 → 1), not three. The report changed the "
              "epochs but gives none ('trained for 30 minutes'): default 5 epochs; also silent on batch "
              "size and lr: defaults 128 and 1e-3."),
    ),
]


# Conditional models. Seed 002 names the conditional GAN ("Both generator and discriminator are
# provided some extra information") without sizes; the layouts are this engine's CPU-sized ones.
_SEED002_CONDITIONAL = [
    Preset(
        name="seed002-cgan",
        title="Conditional DCGAN, pick a digit (seed report 002)",
        source=f"{_S002}, week 2 list of GAN types, '2. Conditional Gan (CGAN)'",
        family="gan",
        model="cgan",
        model_overrides=dict(latent_dim=64, g_width=32, d_width=32, embed_dim=16),
        train_overrides=dict(epochs=10, batch_size=64, lr_g=2e-4, lr_d=2e-4, images_per_epoch=6400),
        note=("Report: names the CGAN ('both generator and discriminator are provided some extra "
              "information') and gives no architecture. cgan is the CPU-sized DCGAN (28×28, ngf = ndf = 32) "
              "with a 16-D label embedding concatenated to z in G (Mirza & Osindero 2014) and a projection "
              "discriminator (Miyato & Koyama 2018); batch 64, Adam 2e-4 / beta1 0.5 as for DCGAN; "
              "10 epochs of 6,400 images so it trains live on a CPU."),
    ),
    Preset(
        name="seed000-cvae",
        title="Conditional VAE, 2-D latent (seed 000's MLP VAE + labels)",
        source=f"{_S000}, §1.4.3 VAE layout, conditioned on the label as in Sohn et al. 2015",
        family="vae",
        model="cvae",
        model_overrides=dict(latent_dim=2, hidden=(512, 256)),
        train_overrides=dict(epochs=10, lr=1e-3, images_per_epoch=6400),
        note=("Seed 000's MLP VAE (784 → 512 → 256 → 2, mirrored decoder) with the one-hot label "
              "concatenated to the encoder's input and the decoder's z (Sohn et al. 2015). Not in the "
              "reports: the conditional counterpart of seed 002's CGAN, so the two can be compared. "
              "With the class given, the 2-D code holds the style: 'same z, every label' writes ten digits "
              "in one hand."),
    ),
]


# ---------------------------------------------------------------------------
# Seed 003 — UF COP 6610, Fall 2019. §2 GAN and §3 VAE on MNIST. The report runs the
# scripts it cites unchanged, so widths and optimiser settings come from them:
#   GAN: github.com/eriklindernoren/PyTorch-GAN implementations/gan/gan.py
#   VAE: github.com/pytorch/examples vae/main.py
# ---------------------------------------------------------------------------
_S003 = "Seed report 003 (UF COP 6610 Machine Learning, Fall 2019)"


_SEED003 = [
    Preset(
        name="seed003-gan",
        title="MLP GAN with batch-norm, 100-D latent (seed report 003)",
        source=f"{_S003}, §2.1.1, §2.2.1, §2.3 (runs PyTorch-GAN implementations/gan/gan.py)",
        family="gan",
        model="mlp-gan",
        # §2.2.1: G has 5 linear layers, D 3, LeakyReLU. Widths, latent 100 and BatchNorm in G are gan.py's:
        # G z → 128 → 256 → 512 → 1024 → 784 (BN from the second layer), D 784 → 512 → 256 → 1, no dropout.
        model_overrides=dict(latent_dim=100, g_hidden=(128, 256, 512, 1024), d_hidden=(512, 256),
                             dropout=0.0, leaky_slope=0.2, batch_norm=True),
        # §2.1.1 "938 batches" per epoch → batch 64; §2.3 samples every 400 steps up to 187,200 → 200
        # epochs. lr 0.0002 and betas (0.5, 0.999) are gan.py's defaults.
        train_overrides=dict(epochs=200, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999),
        note=("Report: runs the cited PyTorch-GAN gan.py on MNIST — 'generator consists of 5 linear "
              "layers', 'discriminator … 3 linear layers', LeakyReLU; 938 batches per epoch (batch 64) and "
              "samples every 400 steps up to step 187,200 (200 epochs), all of which are that script's "
              "defaults. Widths (G 100 → 128 → 256 → 512 → 1024 → 784, D 784 → 512 → 256 → 1), "
              "LeakyReLU(0.2), lr 0.0002 and Adam betas (0.5, 0.999) are taken from the script, not the "
              "report's text. Deviation: gan.py has no batch-norm on the first generator layer and uses "
              "BatchNorm1d(n, 0.8), i.e. eps = 0.8; mlp-gan normalises every generator hidden layer "
              "with the default eps."),
    ),
    Preset(
        name="seed003-vae",
        title="MLP VAE, 400 hidden, 20-D latent (seed report 003)",
        source=f"{_S003}, §3, §3.2.1, §3.3 (runs pytorch/examples vae/main.py)",
        family="vae",
        model="mlp-vae",
        # §3.2.1 "from the official PyTorch tutorial": fc1 784 → 400, heads 400 → 20, fc3 20 → 400, fc4 400 → 784.
        model_overrides=dict(latent_dim=20, hidden=(400,)),
        # §3.3 Figure 4 shows epochs 0 … 50. lr 1e-3, batch 128 and BCE are the script's.
        train_overrides=dict(epochs=50, batch_size=128, lr=1e-3, recon_loss="bce"),
        note=("Report: the official pytorch/examples VAE on MNIST — encoder 784 → 400 → (mu, logvar) of "
              "20, decoder 20 → 400 → 784 with Sigmoid, BCE + KL; Figure 4 shows 50 epochs. The sizes, "
              "Adam lr 1e-3, batch 128 and BCE are the script's values (the report describes the "
              "layers only in words). mlp-vae with hidden (400,) is the same network. The report says "
              "the VAE's input data is 'the same as GAN' (938 batches, i.e. batch 64); we keep the "
              "script's batch 128."),
    ),
]


# ---------------------------------------------------------------------------
# Seed 004 — "GAN and VAE for MNIST" (UF, TensorFlow). §3.3 Tables 1–2 (layers),
# §3.4 Table 3 (hyper-parameters: 50 epochs, batch 128, Adam; GAN lr 1e-5, 1e-6, 1e-4;
# VAE lr 1e-4; 5×5 kernels, 'same' padding). §3.3: every layer except Input/Reshape is
# followed by BatchNorm and ReLU.
# ---------------------------------------------------------------------------
_S004 = "Seed report 004 (Gaikwad, 'GAN and VAE for MNIST', UF CAP6610)"


_S004_COMMON = (" Common to seed 004 (§3.3–3.4): BatchNorm + ReLU after every layer, Adam, 50 epochs, "
                "batch 128; Adam betas not given.")


_S004_GAN_COMMON = (_S004_COMMON + " GAN defaults used: beta1 0.5 (Keras' own default would be 0.9), "
                    "non-saturating BCE loss. Table 3 lists the GAN rates as '1e-5, 1e-6, 1e-4' without "
                    "saying which is whose; we assign them in Table 1's row order (DenseGAN-Deep, "
                    "DenseGAN, CNNGAN), the order in which it also lists the noise sizes '392 and 10'.")


_S004_VAE_COMMON = (_S004_COMMON + " VAEs use Adam's own betas (0.9, 0.999) in this engine, as Keras does; "
                    "reconstruction is cross-entropy (§2.2) → BCE.")


_SEED004 = [
    Preset(
        name="seed004-densegan",
        title="DenseGAN, 10-D noise (seed report 004)",
        source=f"{_S004}, §3.3 Table 1 (DenseGAN rows) and §3.4 Table 3",
        family="gan",
        model="mlp-gan",
        # Table 1: G Input(10) → 100 → 300 → 600 → 784; D 784 → 600 → 300 → 100 → 1. ReLU (slope 0), BN in G.
        model_overrides=dict(latent_dim=10, g_hidden=(100, 300, 600), d_hidden=(600, 300, 100),
                             dropout=0.0, leaky_slope=0.0, batch_norm=True),
        # Table 3: 50 epochs, batch 128; lr 1e-6 (second of the three GAN rates, see note).
        train_overrides=dict(epochs=50, batch_size=128, lr_g=1e-6, lr_d=1e-6),
        note=("Report: G 10 → 100 → 300 → 600 → 784, D 784 → 600 → 300 → 100 → 1, fully connected; "
              "failed to produce readable digits (§4). Mapped to mlp-gan with plain ReLU "
              "(leaky_slope 0) and batch-norm in the generator; mlp-gan has no batch-norm in the "
              "discriminator, so the report's D batch-norm is dropped. The §3.4 text calls DenseGAN's "
              "noise 392, but Table 1 gives DenseGAN Input(10) and DenseGAN-Deep Input(392); we follow "
              "the table." + _S004_GAN_COMMON),
    ),
    Preset(
        name="seed004-densegan-deep",
        title="DenseGAN-Deep, 392-D noise (seed report 004)",
        source=f"{_S004}, §3.3 Table 1 (DenseGAN-Deep rows) and §3.4 Table 3",
        family="gan",
        model="mlp-gan",
        # Table 1: G Input(392) → 100 → 200 → … → 600 → 784; D 784 → 600 → 500 → … → 100 → 1.
        model_overrides=dict(latent_dim=392, g_hidden=(100, 200, 300, 400, 500, 600),
                             d_hidden=(600, 500, 400, 300, 200, 100),
                             dropout=0.0, leaky_slope=0.0, batch_norm=True),
        # Table 3: 50 epochs, batch 128; lr 1e-5 (first of the three GAN rates, see note).
        train_overrides=dict(epochs=50, batch_size=128, lr_g=1e-5, lr_d=1e-5),
        note=("Report: G 392 (= 28·28/2) → 100 → 200 → 300 → 400 → 500 → 600 → 784, D 784 → 600 → 500 → "
              "400 → 300 → 200 → 100 → 1, fully connected; failed to produce readable digits (§4). "
              "Mapped to mlp-gan with plain ReLU (leaky_slope 0) and generator batch-norm; the report's "
              "discriminator batch-norm is dropped (mlp-gan has none)." + _S004_GAN_COMMON),
    ),
    Preset(
        name="seed004-cnngan",
        title="CNNGAN, 10-D noise (seed report 004)",
        source=f"{_S004}, §3.3 Table 1 (CNNGAN rows) and §3.4 Table 3",
        family="gan",
        model="dcgan",
        # Table 1: G Dense(7·7·128) → ConvT 64 (14×14) → ConvT 32 (stride 1) → ConvT 1 (28×28);
        # D Conv 32 → Conv 64 → Conv 128 (stride 2) → Flatten → Dense(1).
        # dcgan 28×28: G 7×7×(2·g_width) → 14×14×g_width → 28×28, D d_width → 2·d_width → logit.
        model_overrides=dict(latent_dim=10, g_width=64, d_width=32, leaky_slope=0.0),
        # Table 3: 50 epochs, batch 128; lr 1e-4 (third GAN rate; §4 calls CNNGAN's rate "high").
        train_overrides=dict(epochs=50, batch_size=128, lr_g=1e-4, lr_d=1e-4),
        note=("Report: G 10 → Dense(7·7·128) → ConvT(64, 5, 2) → ConvT(32, 5, 1) → ConvT(1, 5, 2); "
              "D Conv(32, 5, 2) → Conv(64, 5, 2) → Conv(128, 5, 2) → Flatten → Dense(1); the best of the "
              "three GANs (§4). Mapped to dcgan (28×28) with g_width 64 (so G starts at 7×7×128 and has "
              "64 maps at 14×14) and d_width 32 (D: 32 → 64 maps), ReLU in D too (leaky_slope 0). "
              "Deviations: 4×4 kernels instead of 5×5; no stride-1 32-map layer in G; D has two "
              "convolutions (no 128-map third) and a 7×7 convolution instead of Flatten + Dense; "
              "batch-norm as in DCGAN (not on D's first layer)." + _S004_GAN_COMMON),
    ),
    Preset(
        name="seed004-densevae",
        title="DenseVAE, 2-D latent (seed report 004)",
        source=f"{_S004}, §3.3 Table 2 (DenseVAE rows) and §3.4 Table 3",
        family="vae",
        model="mlp-vae",
        # Table 2: enc 784 → 600 → 300 → 100 → 50 → Dense(4); dec Input → 50 → 100 → 300 → 600 → 784.
        model_overrides=dict(latent_dim=2, hidden=(600, 300, 100, 50)),
        # Table 3: 50 epochs, batch 128, lr 1e-4.
        train_overrides=dict(epochs=50, batch_size=128, lr=1e-4, recon_loss="bce"),
        note=("Report: encoder 784 → 600 → 300 → 100 → 50 → Dense(4), decoder → 50 → 100 → 300 → 600 → "
              "784, fully connected; the best-looking model of the report (§4). mlp-vae with hidden "
              "(600, 300, 100, 50) is the same stack without batch-norm (mlp-vae has none). The latent "
              "size is inconsistent in the report: §3.4 text says 2, the encoder's Dense(4) fits mu and "
              "logvar of 2, but the decoder row says Input(4) and Table 3 says 10; we use 2."
              + _S004_VAE_COMMON),
    ),
    Preset(
        name="seed004-cnnvae",
        title="CNNVAE, 10-D latent (seed report 004)",
        source=f"{_S004}, §3.3 Table 2 (CNNVAE rows) and §3.4 Table 3",
        family="vae",
        model="conv-vae",
        # Table 2: enc Conv 32 → Conv 64 → Conv 128 (5×5, stride 2) → Flatten → Dense; dec Input(10) →
        # Dense(7·7·128) → ConvT 64 → ConvT 32 → ConvT 16 → ConvT 1. Table 3: latent 10.
        model_overrides=dict(latent_dim=10, conv_channels=(32, 64)),
        # Table 3: 50 epochs, batch 128, lr 1e-4.
        train_overrides=dict(epochs=50, batch_size=128, lr=1e-4, recon_loss="bce"),
        note=("Report: encoder Conv(32, 5, 2) → Conv(64, 5, 2) → Conv(128, 5, 2) → Flatten → Dense; "
              "decoder Input(10) → Dense(7·7·128) → ConvT 64 → ConvT 32 → ConvT 16 → ConvT 1; latent 10 "
              "(decoder row and Table 3; the §3.4 text says 2). Report used 3 conv layers; conv-vae allows "
              "at most 2 on 28×28, so we use 32 and 64 channels with 4×4 kernels instead of 5×5, a "
              "hidden dense layer of 256 (default; the report has none) and no batch-norm. The encoder's "
              "last row, Dense(1), is copied from the GAN table and is ignored." + _S004_VAE_COMMON),
    ),
]
