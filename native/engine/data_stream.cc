// Streamed data sets: the host-side plan (see data_stream.h).
#include "engine/data_stream.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nt {

Status data_budget(const char* env, uint64_t free_bytes, uint64_t* budget) {
  if (env && *env) {
    bool digits = true;
    for (const char* c = env; *c; ++c) digits = digits && *c >= '0' && *c <= '9';
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(env, &end, 10);
    if (!digits || errno != 0 || end == env || *end != '\0' || v == 0)
      return InvalidArgument(std::string("Expected a whole number of bytes > 0 for NODETRAIN_CUDA_DATA_BUDGET but received \"") +
                             env + "\"");
    *budget = v;
    return Status::Ok();
  }
  *budget = free_bytes / 4 * 3;
  return Status::Ok();
}

Status plan_data_stream(int64_t rows, int64_t row_bytes, int64_t batch, uint64_t budget, DataStreamPlan* out) {
  *out = DataStreamPlan();
  if (rows < 1) return InvalidArgument("Expected at least one row for the streamed data but received " + std::to_string(rows));
  if (row_bytes < 1) return InvalidArgument("Expected a row size > 0 for the streamed data but received " + std::to_string(row_bytes));
  if (batch < 1) return InvalidArgument("Expected a batch size >= 1 for the streamed data but received " + std::to_string(batch));
  const uint64_t rb = static_cast<uint64_t>(row_bytes);
  if (static_cast<uint64_t>(rows) <= budget / rb) return Status::Ok();  // rows * row_bytes <= budget
  const uint64_t per_chunk = budget / 2 / rb;  // rows that one of the two buffers may hold
  int64_t batches = static_cast<int64_t>(per_chunk / static_cast<uint64_t>(batch));
  if (batches < 1) batches = 1;
  int64_t chunk = batches * batch;
  if (chunk > rows) chunk = rows;  // cannot happen unless one batch exceeds the set; keep it exact
  out->streamed = true;
  out->chunk_rows = chunk;
  out->chunks = (rows + chunk - 1) / chunk;
  return Status::Ok();
}

void chunk_range(const DataStreamPlan& plan, int64_t rows, int64_t c, int64_t* begin, int64_t* end) {
  const int64_t b = c * plan.chunk_rows;
  *begin = b < rows ? b : rows;
  const int64_t e = b + plan.chunk_rows;
  *end = e < rows ? e : rows;
}

void gather_host_rows(const void* src, int64_t row_bytes, const uint32_t* order, int64_t first, int64_t n, void* dst) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const size_t rb = static_cast<size_t>(row_bytes);
  if (!order) {
    std::memcpy(d, s + static_cast<size_t>(first) * rb, static_cast<size_t>(n) * rb);
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + static_cast<size_t>(i) * rb, s + static_cast<size_t>(order[first + i]) * rb, rb);
}

}  // namespace nt
