// Filled in by its module's implementation.
export {};
