// DeviceArray: a float array in a Backend's memory (owned; freed through the same backend).
// Copies are deep (backend-to-backend copies), so snapshots of parameters and optimizer state
// are plain assignments. Allocation failure throws std::bad_alloc, which Model::Create and the
// binding's guards turn into kOutOfMemory.
#pragma once
#include <cstddef>
#include <new>
#include <utility>

#include "nodetrain/backend.h"

namespace nt {

class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray& o) { *this = o; }
  DeviceArray& operator=(const DeviceArray& o) {
    if (this == &o) return *this;
    if (o.be_) be_ = o.be_;
    if (n_ != o.n_) {
      release();
      allocate(o.n_);
    }
    if (n_) be_->copy(p_, o.p_, n_ * sizeof(float));
    return *this;
  }
  DeviceArray(DeviceArray&& o) noexcept { swap(o); }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }

  // Resizes to n elements, each set to v.
  void assign(const Backend& be, size_t n, float v) {
    if (n != n_ || be_ != &be) {
      release();
      be_ = &be;
      allocate(n);
    }
    if (n_) be_->fill(p_, v, static_cast<int64_t>(n_));
  }
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }

 private:
  void allocate(size_t n) {
    if (n == 0) return;
    p_ = static_cast<float*>(be_->alloc(n * sizeof(float)));
    if (!p_) throw std::bad_alloc();
    n_ = n;
  }
  void release() {
    if (p_ && be_) be_->free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  void swap(DeviceArray& o) noexcept {
    std::swap(be_, o.be_);
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }
  const Backend* be_ = nullptr;
  float* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace nt
