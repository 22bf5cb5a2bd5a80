// Empty translation unit for architectures without ISA-specific kernels.
