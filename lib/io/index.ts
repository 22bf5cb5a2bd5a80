/**
 * File I/O: crash-safe writes and the safetensors weight format. (Model save / load builds on these.)
 */
export { writeFileAtomic, writeFileAtomicSync, writeDirAtomic } from './atomic';
export type { AtomicData, AtomicWriteOptions } from './atomic';
export {
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  float16ToFloat32,
  bfloat16ToFloat32,
  SAFETENSORS_MAX_HEADER,
} from './safetensors';
export type {
  SafetensorsDType,
  SafetensorsData,
  SafetensorsTensor,
  SafetensorsFile,
  ExpectedTensor,
  DecodeOptions,
} from './safetensors';
export { saveModel, loadModel, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model';
export type { SaveOptions, ModelSource } from './model';
export { loadTfjsModel, exportTfjs } from './tfjs';
export { exportOnnx, ONNX_OPSET } from './onnx/export';
export type { OnnxExportOptions } from './onnx/export';
