// weft/weft.hpp — everything a weft program needs.
#pragma once
#include <weft/channel.hpp>
#include <weft/dump.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/fiber_local.hpp>
#include <weft/future.hpp>
#include <weft/group.hpp>
#include <weft/io.hpp>
#include <weft/recursive_mutex.hpp>
#include <weft/run.hpp>
#include <weft/select.hpp>
#include <weft/shared_mutex.hpp>
#include <weft/spawn_after.hpp>
#include <weft/sync.hpp>
#include <weft/timeout.hpp>
#include <weft/wait_any.hpp>
