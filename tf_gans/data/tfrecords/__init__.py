"""Multi-resolution TFRecords datasets in the PGGAN layout.

The layout of github.com/tkarras/progressive_growing_of_gans: written by
`dataset_tool.py` `TFRecordExporter`, read by `dataset.py` `TFRecordDataset`.

`format` is the folder and record layout, `writer` writes a folder, `reader`
reads one; every public name is importable from here. Our names vs the
original `dataset.py` / `dataset_tool.py`:

  MultiResWriter(tfrecord_dir, expected_images)  TFRecordExporter(...)
  MultiResWriter.add_image(image [H, W, C])      add_image(img [C, H, W])
  MultiResWriter.add_labels(labels)              add_labels(labels)
  MultiResDataset(tfrecord_dir)                  TFRecordDataset(tfrecord_dir)
  MultiResDataset.images(lod, seed, skip)        configure(mb, lod) + get_minibatch_tf()
  MultiResDataset.read_records(lod, indices)     (records by offset: metric reals passes)
  resolution, resolution_log2, label_size        the same names
  num_channels                                   shape[0]

TensorFlow is imported inside the functions that need it, so importing this
package is cheap.
"""

from tf_gans.data.tfrecords.format import LABELS_SUFFIX
from tf_gans.data.tfrecords.format import MIN_RESOLUTION_LOG2
from tf_gans.data.tfrecords.format import TFRECORDS_SUFFIX
from tf_gans.data.tfrecords.format import check_image_shape
from tf_gans.data.tfrecords.format import decode_example
from tf_gans.data.tfrecords.format import encode_example
from tf_gans.data.tfrecords.format import feature_spec
from tf_gans.data.tfrecords.format import labels_name
from tf_gans.data.tfrecords.format import tfrecord_name
from tf_gans.data.tfrecords.reader import IN_MEMORY_BYTES
from tf_gans.data.tfrecords.reader import MultiResDataset
from tf_gans.data.tfrecords.reader import read_first_record
from tf_gans.data.tfrecords.reader import record_offsets
from tf_gans.data.tfrecords.writer import MultiResWriter
from tf_gans.data.tfrecords.writer import WriteSummary
from tf_gans.data.tfrecords.writer import as_hwc
from tf_gans.data.tfrecords.writer import build_lods
from tf_gans.data.tfrecords.writer import check_target
from tf_gans.data.tfrecords.writer import downscale2x
from tf_gans.data.tfrecords.writer import quantise

__all__ = [
    'IN_MEMORY_BYTES', 'LABELS_SUFFIX', 'MIN_RESOLUTION_LOG2', 'TFRECORDS_SUFFIX',
    'MultiResDataset', 'MultiResWriter', 'WriteSummary', 'as_hwc', 'build_lods',
    'check_image_shape', 'check_target', 'decode_example', 'downscale2x', 'encode_example',
    'feature_spec', 'labels_name', 'quantise', 'read_first_record', 'record_offsets',
    'tfrecord_name',
]
