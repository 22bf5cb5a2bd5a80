// How the fused optimizer step (optim.cu multi_step) walks the parameter arena, in plain C++ that
// both nvcc and the host compiler build, so test/device/group-walk.test.ts checks the walk without
// a GPU: every element of every group is visited exactly once, no element of a gap between groups
// (a frozen range) or outside them is visited, and a chunk goes to the vector path only when it
// lies inside one group.
//
// The arena is cut into aligned chunks of W elements ([W q, W q + W), q = chunk index). A thread
// visits its chunks in increasing order (a grid stride), so the group it is in only moves forward.
// A chunk that lies inside one group is handed whole to `whole(group, first_element)` (float4
// loads and stores when W = 4 and the arrays are 16-byte aligned); a chunk that straddles a group
// boundary, a gap or the arena's ends is handed element by element to `one(group, element)`, for
// the elements that belong to a group.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define NT_GW_FN __host__ __device__ __forceinline__
#else
#define NT_GW_FN inline
#endif

namespace nt {
namespace cuda {

// The chunk indices [first, last) that cover the elements [begin, end).
struct ChunkRange {
  int64_t first = 0, last = 0;
};
template <int W>
NT_GW_FN ChunkRange chunks_covering(int64_t begin, int64_t end) {
  ChunkRange r;
  if (end <= begin) return r;
  r.first = begin / W;
  r.last = (end + W - 1) / W;
  return r;
}

// Groups: anything indexable whose elements have int64_t begin and end, ordered and not
// overlapping (optim.cu's launcher checks that before the launch). *grp: the thread's current
// group, 0 before its first chunk.
template <int W, class Groups, class Whole, class One>
NT_GW_FN void walk_chunk(const Groups& groups, int ngroups, int64_t chunk, int* grp, Whole&& whole, One&& one) {
  const int64_t i0 = chunk * W;
  while (*grp + 1 < ngroups && i0 >= groups[*grp].end) ++*grp;
  if (i0 >= groups[*grp].begin && i0 + W <= groups[*grp].end) {
    whole(*grp, i0);
    return;
  }
  int k = *grp;
#pragma unroll
  for (int e = 0; e < W; ++e) {
    const int64_t i = i0 + e;
    while (k + 1 < ngroups && i >= groups[k].end) ++k;
    if (i >= groups[k].begin && i < groups[k].end) one(k, i);
  }
}

}  // namespace cuda
}  // namespace nt
