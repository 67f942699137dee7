"""Text front end shared by engines: language detection, normalization, segmentation."""
