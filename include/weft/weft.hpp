// weft/weft.hpp — everything a weft program needs.
#pragma once
#include <weft/channel.hpp>
#include <weft/dump.hpp>
#include <weft/errors.hpp>
#include <weft/fiber.hpp>
#include <weft/group.hpp>
#include <weft/io.hpp>
#include <weft/offload.hpp>
#include <weft/run.hpp>
#include <weft/sync.hpp>
#include <weft/timeout.hpp>
