// Host-side planning of streamed data sets: when a training set does not fit the device-memory
// budget, its rows go to the device in chunks through two host staging buffers (pinned on a device
// backend) on a second queue, double-buffered: chunk c + 1 uploads while chunk c trains. This file
// holds the decisions (budget, chunk sizes, which rows go in which chunk, the host row gather);
// the fit loop (trainer.cc) runs them through the Backend's upload slots. Plain C++.
#pragma once
#include <cstddef>
#include <cstdint>

#include "nodetrain/status.h"

namespace nt {

struct DataStreamPlan {
  bool streamed = false;   // false: the whole set is uploaded once (it fits the budget)
  int64_t chunk_rows = 0;  // rows per chunk, a multiple of the batch size (streamed only)
  int64_t chunks = 0;      // ceil(rows / chunk_rows)
};

// The device-memory budget for data sets, in bytes: `env` (the value of NODETRAIN_CUDA_DATA_BUDGET,
// or null) when set, else three quarters of `free_bytes`. An env value that is not a whole number
// of bytes > 0 is an InvalidArgument.
Status data_budget(const char* env, uint64_t free_bytes, uint64_t* budget);

// Plans a set of `rows` rows of `row_bytes` bytes each for batches of `batch` rows. It is uploaded
// whole when rows * row_bytes fits `budget`; otherwise two chunks must fit it, each holding as many
// whole batches as fit, and at least one batch (so a budget under two batches is exceeded by the
// two one-batch buffers rather than failing).
Status plan_data_stream(int64_t rows, int64_t row_bytes, int64_t batch, uint64_t budget, DataStreamPlan* out);

// The rows [*begin, *end) of the epoch order that chunk c holds.
void chunk_range(const DataStreamPlan& plan, int64_t rows, int64_t c, int64_t* begin, int64_t* end);

// dst row i = src row order[i] (order null: row first + i), for i < n; rows of `row_bytes` bytes.
void gather_host_rows(const void* src, int64_t row_bytes, const uint32_t* order, int64_t first, int64_t n, void* dst);

}  // namespace nt
