/**
 * Data: datasets in native memory, CSV loading, bundled digits, splits, standardisation, one-hot
 * encoding and the seeded random generator used for reproducible shuffles.
 */
export { Dataset, dataset } from './dataset';
export type { DatasetOptions, DataInput, TargetKind } from './dataset';
export { loadCsv, parseCsv, loadCsvTable, parseCsvTable, CSV_MAX_RECORD_LENGTH } from './csv';
export type { CsvOptions, CsvTable, CsvTableOptions } from './csv';
export { Preprocessor } from './preprocess';
export { classificationReport, regressionReport, formatConfusion } from './scores';
export type { ClassificationReport, RegressionReport } from './scores';
export type { PreprocessorOptions, PreprocessorJSON, PreprocessorColumn, NumericColumn, CategoricalColumn, ColumnType, TabularTask, RawRows } from './preprocess';
export { loadDigits, DIGIT_PIXELS, DIGITS_AVAILABLE, DIGITS_DEFAULT_TEST_SIZE } from './digits';
export type { DigitsOptions } from './digits';
export { splitDataset, Standardizer, fitStandardizer, oneHot } from './transform';
export type { SplitOptions, Split, StandardizerJSON } from './transform';
export { createRng, permutation, shuffleInPlace } from './random';
export type { Rng } from './random';
