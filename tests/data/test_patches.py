import pytest
import torch

from lungnet.data import RandomPatches


def _batch(
    tumor_at: list[tuple[int, int] | None], size: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.arange(len(tumor_at) * 3 * size * size, dtype=torch.float32).reshape(
        len(tumor_at), 3, size, size
    )
    mask = torch.zeros(len(tumor_at), 1, size, size)
    for i, where in enumerate(tumor_at):
        if where is not None:
            mask[i, 0, where[0], where[1]] = 1
    return image, mask


def test_patches_have_the_asked_size_and_stay_aligned_with_their_masks():
    image, mask = _batch([(3, 30), None, (31, 0)])
    # Every image value is unique, so a patch's first value tells where it was cut.
    patches, masks = RandomPatches(16, seed=0)(image, mask)
    assert patches.shape == (3, 3, 16, 16) and masks.shape == (3, 1, 16, 16)
    for i in range(3):
        corner = patches[i, 0, 0, 0].item() - i * 3 * 32 * 32
        top, left = divmod(int(corner), 32)
        assert torch.equal(patches[i], image[i, :, top : top + 16, left : left + 16])
        assert torch.equal(masks[i], mask[i, :, top : top + 16, left : left + 16])


@pytest.mark.parametrize("seed", range(5))
def test_a_slice_with_tumor_keeps_its_tumor_even_at_the_edges(seed):
    corners = [(0, 0), (0, 31), (31, 0), (31, 31), (15, 16)]
    _, masks = RandomPatches(8, seed=seed)(*_batch(corners))
    assert (masks.flatten(1).sum(1) == 1).all()


def test_tumor_lands_anywhere_in_the_patch_not_always_in_the_centre():
    crop = RandomPatches(8, seed=0)
    spots = set()
    for _ in range(40):
        _, masks = crop(*_batch([(16, 16)]))
        spots.add(tuple(masks[0, 0].nonzero()[0].tolist()))
    assert len(spots) > 10


def test_same_seed_same_patches_and_whole_slices_pass_through():
    batch = _batch([None, (5, 5)])
    a, _ = RandomPatches(16, seed=3)(*batch)
    b, _ = RandomPatches(16, seed=3)(*batch)
    assert torch.equal(a, b)
    image, mask = batch
    same, same_mask = RandomPatches(32)(image, mask)
    assert same is image and same_mask is mask


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="patch size"):
        RandomPatches(0)
